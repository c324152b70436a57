// A single-page app served from a pier website bucket over HTTPS, in headless Chromium: its
// index document, a folder's index, a folder asked for without its slash, a routing rule, the
// error document, and the app uploading 20 files at once through presigned URLs to a bucket on
// another origin (pier's API, CORS) over HTTP/2. Started by tests/tls.rs, which passes in:
//   SITE (https://spa.s3-website.localhost:PORT), URLS (JSON: presigned PUT URLs), SPKI (the
//   base64 SHA-256 of the server certificate's public key, the only one Chromium accepts).
import { check, expect, launch, tally } from "./harness.mjs";

const site = process.env.SITE;
const browser = await launch([
  `--ignore-certificate-errors-spki-list=${process.env.SPKI}`,
  "--host-resolver-rules=MAP spa.s3-website.localhost 127.0.0.1",
]);
const page = await browser.newPage();


await check("the app's index document is served over https, over HTTP/2", async () => {
  const r = await page.goto(site + "/");
  expect(r.status() === 200, `status ${r.status()}`);
  expect((await page.title()) === "pier spa", await page.title());
  await page.waitForSelector('body[data-ready="yes"]');
  const proto = await page.evaluate(() => performance.getEntriesByType("navigation")[0].nextHopProtocol);
  expect(proto === "h2", `protocol ${proto}`);
});

await check("a folder's index document, and a folder asked for without its slash", async () => {
  let r = await page.goto(site + "/app/");
  expect(r.status() === 200 && (await page.textContent("#section")) === "the app section", `status ${r.status()}`);
  r = await page.goto(site + "/app");
  expect(page.url() === site + "/app/", "sent to the folder: " + page.url());
  expect((await page.textContent("#section")) === "the app section", "its index");
});

await check("a routing rule redirects old/ to app/", async () => {
  const r = await page.goto(site + "/old/");
  expect(page.url() === site + "/app/", page.url());
  expect(r.status() === 200 && r.request().redirectedFrom() !== null, "redirected");
});

await check("a missing page gets the error document with 404", async () => {
  const r = await page.goto(site + "/no/such/page");
  expect(r.status() === 404, `status ${r.status()}`);
  expect((await page.textContent("#missing")) === "no such page in this app", await page.content());
});

await check("the app uploads 20 files at once through presigned URLs to another origin", async () => {
  await page.goto(site + "/");
  await page.waitForSelector('body[data-ready="yes"]');
  const results = await page.evaluate((urls) => window.uploadAll(urls), JSON.parse(process.env.URLS));
  expect(results.length === 20, `${results.length} results`);
  const bad = results.filter((r) => r.status !== 200 || !r.etag);
  expect(bad.length === 0, "every PUT succeeded with its ETag exposed: " + JSON.stringify(bad));
});

const code = tally();
await browser.close();
process.exit(code);
