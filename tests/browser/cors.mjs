// Headless Chromium against a running pier: pages on three loopback origins call fetch() and we
// read what the page saw. Setup (buckets, rules, objects, presigned URLs) is done by the Rust
// test (tests/browser_cors.rs), which passes everything in the environment:
//   PIER_ENDPOINT, ORIGIN_A_PORT, ORIGIN_B_PORT, ORIGIN_C_PORT, PUT_URL, PUT_CHECK_URL
import http from "node:http";
import { check, expect, launch, tally } from "./harness.mjs";

const endpoint = process.env.PIER_ENDPOINT;
const ports = ["ORIGIN_A_PORT", "ORIGIN_B_PORT", "ORIGIN_C_PORT"].map((k) => Number(process.env[k]));
// A and C differ only by port; B differs by host.
const A = `http://127.0.0.1:${ports[0]}`;
const B = `http://localhost:${ports[1]}`;
const C = `http://127.0.0.1:${ports[2]}`;

const servers = ports.map((port) =>
  http
    .createServer((req, res) => {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end("<!doctype html><title>pier cors test page</title><p>test page</p>");
    })
    .listen(port, "127.0.0.1"),
);
// `localhost` must reach the B server too (it may resolve to ::1).
servers.push(http.createServer((req, res) => { res.writeHead(200, { "Content-Type": "text/html" }); res.end("<p>b</p>"); }).listen(ports[1], "::1").on("error", () => {}));

const browser = await launch();

async function fetchFrom(origin, url, init = {}) {
  const page = await browser.newPage();
  try {
    await page.goto(origin + "/");
    return await page.evaluate(async ({ url, init }) => {
      try {
        const r = await fetch(url, init);
        return { ok: true, status: r.status, text: await r.text(), etag: r.headers.get("etag") };
      } catch (e) {
        return { ok: false, error: String(e) };
      }
    }, { url, init });
  } finally {
    await page.close();
  }
}

const obj = (bucket, key = "bucket_info.txt") => `${endpoint}/${bucket}/${key}`;

await check("a bucket without CORS rules: the browser blocks the read", async () => {
  const r = await fetchFrom(A, obj("cors-allow-none"));
  expect(!r.ok && r.error.includes("Failed to fetch"), JSON.stringify(r));
});

await check("any origin, authorization and range allowed: a plain GET works", async () => {
  const r = await fetchFrom(B, obj("cors-allow-all"));
  expect(r.ok && r.status === 200 && r.text.includes("authorization and range"), JSON.stringify(r));
});

await check("several ranges in one Range header: 200 with the whole object, readable cross-origin", async () => {
  const r = await fetchFrom(B, obj("cors-allow-all"), { headers: { Range: "bytes=0-3, 5-8" } });
  expect(r.ok && r.status === 200 && r.text.startsWith("This bucket allows CORS with all origins"), JSON.stringify(r));
});

await check("any origin, authorization and range allowed: X-Fake-Header fails its preflight", async () => {
  const r = await fetchFrom(A, obj("cors-allow-all"), { headers: { "X-Fake-Header": "breaking-cors-for-fun" } });
  expect(!r.ok, JSON.stringify(r));
});

await check("once all headers are allowed, X-Fake-Header works", async () => {
  const r = await fetchFrom(A, obj("cors-allow-all-headers"), { headers: { "X-Fake-Header": "breaking-cors-for-fun" } });
  expect(r.ok && r.status === 200 && r.text.includes("any header"), JSON.stringify(r));
});

await check("one exact origin: that origin reads", async () => {
  const r = await fetchFrom(A, obj("exact"));
  expect(r.ok && r.status === 200, JSON.stringify(r));
});

await check("one exact origin: another host is blocked", async () => {
  const r = await fetchFrom(B, obj("exact"));
  expect(!r.ok, JSON.stringify(r));
});

await check("one exact origin: another port is blocked", async () => {
  const r = await fetchFrom(C, obj("exact"));
  expect(!r.ok, JSON.stringify(r));
});

await check("presigned PUT from the page with Content-Type: text/plain", async () => {
  const r = await fetchFrom(A, process.env.PUT_URL, {
    method: "PUT", headers: { "Content-Type": "text/plain" }, body: "written by a browser",
  });
  expect(r.ok && r.status === 200, JSON.stringify(r));
  const back = await fetchFrom(A, process.env.PUT_CHECK_URL);
  expect(back.ok && back.text === "written by a browser", JSON.stringify(back));
});

await check("an exposed response header (ETag) is readable from script", async () => {
  const r = await fetchFrom(A, obj("exact"));
  expect(r.ok && /^"[0-9a-f]{32}"$/.test(r.etag || ""), JSON.stringify(r));
});

await check("a response header that is not exposed is hidden from script", async () => {
  const r = await fetchFrom(A, obj("cors-allow-all"));
  expect(r.ok && r.etag === null, JSON.stringify(r));
});

await check("a credentialed fetch works where the origin is echoed", async () => {
  const r = await fetchFrom(A, obj("exact"), { credentials: "include" });
  expect(r.ok && r.status === 200, JSON.stringify(r));
});

await check("a credentialed fetch is blocked where the rule answers `*`", async () => {
  const r = await fetchFrom(A, obj("cors-allow-all"), { credentials: "include" });
  expect(!r.ok, JSON.stringify(r));
});

await check("a missing object: the page sees the 404", async () => {
  const r = await fetchFrom(A, obj("exact", "no-such-object.txt"));
  expect(r.ok && r.status === 404 && r.text.includes("NoSuchKey"), JSON.stringify(r));
});

await browser.close();
servers.forEach((s) => s.close());
const code = tally();
process.exit(code);
