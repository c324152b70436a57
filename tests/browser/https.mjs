// Headless Chromium on a page served over HTTPS calls pier's HTTPS listener with fetch(), as a
// web app on an https:// site would, and is blocked from pier's plain-HTTP listener (mixed
// content). Started by tests/tls.rs, which passes in the environment:
//   HTTPS_API (https://127.0.0.1:PORT), HTTP_API (http://...), ORIGIN_PORT, CERT, KEY (the page
//   server's certificate, the same the API serves), SPKI (the base64 SHA-256 of its public key,
//   the only certificate Chromium is told to accept), OBJECT (bucket/key readable anonymously).
import fs from "node:fs";
import https from "node:https";
import { check, expect, launch, tally } from "./harness.mjs";

const origin = `https://127.0.0.1:${process.env.ORIGIN_PORT}`;
const site = https
  .createServer({ cert: fs.readFileSync(process.env.CERT), key: fs.readFileSync(process.env.KEY) }, (req, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end("<!doctype html><title>an https site</title><p>an https site</p>");
  })
  .listen(Number(process.env.ORIGIN_PORT), "127.0.0.1");
await new Promise((r) => site.once("listening", r));

const browser = await launch([
  `--ignore-certificate-errors-spki-list=${process.env.SPKI}`,
  // A name for the plain listener: Chromium lets pages reach loopback addresses over http
  // (they are "potentially trustworthy"), but not a named host.
  "--host-resolver-rules=MAP pier-plain.test 127.0.0.1",
]);
const page = await browser.newPage();
const consoleLines = [];
page.on("console", (m) => consoleLines.push(m.text()));
await page.goto(origin + "/");

const fetchFromPage = (url) => page.evaluate(async (url) => {
  try {
    const r = await fetch(url);
    return { ok: true, status: r.status, text: await r.text(), proto: performance.getEntriesByType("resource").pop()?.nextHopProtocol };
  } catch (e) {
    return { ok: false, error: String(e) };
  }
}, url);

await check("an https page reads an object from pier's HTTPS listener", async () => {
  const got = await fetchFromPage(`${process.env.HTTPS_API}/${process.env.OBJECT}`);
  expect(got.ok && got.status === 200 && got.text === "from an https page", JSON.stringify(got));
});

await check("the same page is blocked from pier's plain HTTP listener (mixed content)", async () => {
  const plain = process.env.HTTP_API.replace("127.0.0.1", "pier-plain.test");
  const got = await fetchFromPage(`${plain}/${process.env.OBJECT}`);
  expect(!got.ok, "the browser refused: " + JSON.stringify(got));
  expect(consoleLines.some((l) => l.includes("Mixed Content")), "as mixed content: " + JSON.stringify(consoleLines));
});

const code = tally();
await browser.close();
site.close();
process.exit(code);
