// The B2 half of the first seed in headless Chromium: downloads through /file/BUCKET/NAME under
// B2 corsRules, and a browser upload through b2_upload_file. Setup comes from
// tests/clients/b2_browser_setup.py through the environment (SETUP: its JSON).
import http from "node:http";
import { check, expect, launch, tally } from "./harness.mjs";

const endpoint = process.env.PIER_ENDPOINT;
const setup = JSON.parse(process.env.SETUP);
const port = Number(process.env.ORIGIN_A_PORT);
const A = `http://127.0.0.1:${port}`;
const server = http.createServer((req, res) => { res.writeHead(200, { "Content-Type": "text/html" }); res.end("<p>page</p>"); }).listen(port, "127.0.0.1");
const browser = await launch();
const page = await browser.newPage();
await page.goto(A + "/");
const run = (url, init = {}) => page.evaluate(async ({ url, init }) => {
  try {
    const r = await fetch(url, init);
    return { ok: true, status: r.status, text: await r.text(), sha1: r.headers.get("x-bz-content-sha1") };
  } catch (e) {
    return { ok: false, error: String(e) };
  }
}, { url, init });

const file = (b) => `${endpoint}/file/${setup[b]}/bucket_info.txt`;

await check("/file/ in a bucket without corsRules is blocked", async () => {
  const r = await run(file("b2-none-cors"));
  expect(!r.ok, JSON.stringify(r));
});
await check("any origin with authorization and range: a plain GET works", async () => {
  const r = await run(file("b2-allow-all"));
  expect(r.ok && r.status === 200 && r.text.includes("1 rule"), JSON.stringify(r));
});
await check("any origin with authorization and range: X-Fake-Header is blocked", async () => {
  const r = await run(file("b2-allow-all"), { headers: { "X-Fake-Header": "breaking-cors-for-fun" } });
  expect(!r.ok, JSON.stringify(r));
});
await check("all headers allowed: X-Fake-Header works", async () => {
  const r = await run(file("b2-allow-headers"), { headers: { "X-Fake-Header": "breaking-cors-for-fun" } });
  expect(r.ok && r.status === 200, JSON.stringify(r));
});
await check("a rule whose only origin is `https` blocks an http page", async () => {
  const r = await run(file("b2-https-only"));
  expect(!r.ok, JSON.stringify(r));
});
await check("x-bz-content-sha1 is readable from script when exposed", async () => {
  const r = await run(file("b2-exposed"));
  expect(r.ok && /^[0-9a-f]{40}$/.test(r.sha1 || ""), JSON.stringify(r));
});
await check("x-bz-content-sha1 is hidden when not exposed", async () => {
  const r = await run(file("b2-allow-all"));
  expect(r.ok && r.sha1 === null, JSON.stringify(r));
});
await check("a browser upload through b2_upload_file", async () => {
  const body = "uploaded from a page";
  const sha1 = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(body))))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const r = await run(setup.upload_url, {
    method: "POST", body,
    headers: { Authorization: setup.upload_token, "Content-Type": "text/plain", "X-Bz-File-Name": "from-page.txt", "X-Bz-Content-Sha1": sha1 },
  });
  expect(r.ok && r.status === 200 && JSON.parse(r.text).contentSha1 === sha1, JSON.stringify(r));
  const back = await run(`${endpoint}/file/${setup["b2-exposed"]}/from-page.txt`);
  expect(back.ok && back.text === body, JSON.stringify(back));
});

await browser.close();
server.close();
const code = tally();
process.exit(code);
