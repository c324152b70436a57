// Headless Chromium drives the dashboard as a person would, against a running pier started by
// tests/browser_dashboard.rs, which passes in the environment:
//   DASHBOARD (its URL), PIER_ENDPOINT (the API), ACCESS_KEY, SECRET_KEY, ORIGIN_PORT (a free
//   port for "another site's" page), SHOTS (where to write screenshots, optional).
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import http from "node:http";
import { check, expect, launch, tally } from "./harness.mjs";

const dash = process.env.DASHBOARD;
const api = process.env.PIER_ENDPOINT;
const origin = `http://127.0.0.1:${process.env.ORIGIN_PORT}`;
const shots = process.env.SHOTS;

// "Another site": a page on its own origin, from which the test fetches the API.
const site = http
  .createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end("<!doctype html><title>another site</title><p>another site</p>");
  })
  .listen(Number(process.env.ORIGIN_PORT), "127.0.0.1");

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
const page = await context.newPage();
page.on("dialog", (d) => d.accept());

async function shot(name) {
  if (shots) await page.screenshot({ path: `${shots}/dashboard-${name}.png`, fullPage: true });
}
async function signIn(id, secret) {
  await page.goto(dash + "/");
  expect(page.url().endsWith("/login"), "sent to sign in: " + page.url());
  await page.fill('input[name="access_key"]', id);
  await page.fill('input[name="secret"]', secret);
  await page.click('form[action="/login"] button');
  await page.waitForSelector("#signed-in-as");
}
async function fetchFromSite(url, headers = {}) {
  const p = await context.newPage();
  try {
    await p.goto(origin + "/");
    return await p.evaluate(async ({ url, headers }) => {
      try {
        const r = await fetch(url, { headers });
        return { ok: true, status: r.status, text: await r.text() };
      } catch (e) {
        return { ok: false, error: String(e) };
      }
    }, { url, headers });
  } finally {
    await p.close();
  }
}

await check("sign in with an access key", async () => {
  await signIn(process.env.ACCESS_KEY, process.env.SECRET_KEY);
  expect((await page.textContent("#signed-in-as")).trim() === process.env.ACCESS_KEY, "signed in");
  await shot("sign-in");
});

await check("create buckets", async () => {
  for (const name of ["dash-other", "dash-photos"]) {
    await page.goto(dash + "/");
    await page.fill('#create-bucket input[name="name"]', name);
    await page.click("#create-bucket button");
    await page.waitForURL(`**/b/${name}`);
  }
  await page.goto(dash + "/");
  const text = await page.textContent("#buckets");
  expect(text.includes("dash-photos") && text.includes("dash-other"), text);
  await shot("buckets");
});

const BIG = 40 * 1024 * 1024;
await check("upload several files, one in parts, with the progress bar moving", async () => {
  await page.goto(dash + "/b/dash-photos");
  // Record every progress value the page shows (the page's own script sets them).
  await page.evaluate(() => {
    window.__seen = [];
    new MutationObserver((records) => {
      for (const r of records) if (r.attributeName === "data-loaded") window.__seen.push(Number(r.target.dataset.loaded));
    }).observe(document.getElementById("progress"), { subtree: true, attributes: true });
  });
  const big = Buffer.alloc(BIG, 7);
  await page.setInputFiles("#files", [
    { name: "hello.txt", mimeType: "text/plain", buffer: Buffer.from("hello from the dashboard") },
    { name: "cat.jpg", mimeType: "image/jpeg", buffer: Buffer.alloc(1000, 1) },
    { name: "big.bin", mimeType: "application/octet-stream", buffer: big },
  ]);
  await page.waitForSelector('#progress[data-state="done"], #progress li[data-state="error"]', { timeout: 60000 });
  const failures = await page.$$eval('#progress li[data-state="error"]', (els) => els.map((e) => e.textContent));
  expect(failures.length === 0, "uploads failed: " + JSON.stringify(failures));
  const seen = await page.evaluate(() => window.__seen);
  const between = seen.filter((n) => n > 0 && n < BIG);
  expect(between.length >= 2, "the big file's bar moved through values: " + JSON.stringify(seen.slice(0, 20)));
  await page.waitForSelector("#objects >> text=big.bin");
  const listing = await page.textContent("#objects");
  expect(listing.includes("hello.txt") && listing.includes("cat.jpg") && listing.includes("40.0 MiB"), listing);
  await shot("objects");
});

await check("browse a prefix as a folder", async () => {
  await page.goto(dash + "/b/dash-photos?prefix=" + encodeURIComponent("albums/2026/"));
  await page.setInputFiles("#files", [{ name: "beach.jpg", mimeType: "image/jpeg", buffer: Buffer.alloc(500, 2) }]);
  await page.waitForSelector('#progress[data-state="done"]');
  await page.goto(dash + "/b/dash-photos");
  await page.click("#objects >> text=albums/");
  await page.click("#objects >> text=2026/");
  await page.waitForSelector("#objects >> text=beach.jpg");
  await page.click("#objects >> text=beach.jpg");
  await page.waitForSelector("#object-key");
  expect((await page.textContent("#object-key")) === "albums/2026/beach.jpg", "details");
  expect((await page.textContent("#versions")).includes("(current)"), "versions listed");
});

let shareUrl;
await check("share a link and fetch it", async () => {
  await page.goto(dash + "/b/dash-photos");
  const row = page.locator("#objects tr", { hasText: "hello.txt" });
  await row.locator('select[name="expires"]').selectOption("3600");
  await row.locator("text=Share link").click();
  await page.waitForSelector("#share-url");
  shareUrl = await page.getAttribute("#share-url", "href");
  expect(shareUrl.startsWith(api + "/dash-photos/hello.txt?"), shareUrl);
  const r = await fetch(shareUrl);
  expect(r.status === 200 && (await r.text()) === "hello from the dashboard", "the link downloads");
  await shot("share");
});

await check("a quick CORS choice shows its rules, and then another site's fetch works", async () => {
  const before = await fetchFromSite(shareUrl);
  expect(!before.ok, "blocked before: " + JSON.stringify(before));
  await page.goto(dash + "/b/dash-photos/cors");
  await page.selectOption('#quick select[name="audience"]', "origin");
  await page.fill('#quick input[name="origin"]', origin);
  await page.click('#quick button[name="mode"]');
  await page.waitForSelector("#preview-rules");
  const rules = await page.textContent("#preview-rules");
  expect(rules.includes(origin) && rules.includes("s3_get"), rules);
  expect((await page.textContent("#diff")).includes(`${origin} may s3_get`), "the diff names what is gained");
  await shot("cors-preview");
  await page.click("#save-rules");
  await page.waitForSelector("#saved");
  const after = await fetchFromSite(shareUrl);
  expect(after.ok && after.status === 200 && after.text === "hello from the dashboard", "allowed after: " + JSON.stringify(after));
});

await check("a refused browser request is listed, and a rule made for it is staged report-only, counted, then promoted", async () => {
  const refused = await fetchFromSite(shareUrl, { "X-Custom": "1" });
  expect(!refused.ok, "x-custom is not allowed yet: " + JSON.stringify(refused));
  await page.goto(dash + "/b/dash-photos/cors");
  const list = await page.textContent("#refused-list");
  expect(list.includes(origin) && list.includes("x-custom"), list);
  await shot("cors-refused");
  await page.click('#refused-list button[value="refused"]');
  await page.waitForSelector("#preview-rules");
  const flips = await page.textContent("#flips");
  expect(flips.includes(origin) && flips.includes("refused → allowed"), flips);
  await page.click("#stage-rules");
  await page.waitForSelector("#staged");
  expect((await page.textContent("#staged-allowed")).trim() === "0", "nothing counted yet");
  const still = await fetchFromSite(shareUrl, { "X-Custom": "1" });
  expect(!still.ok, "report-only changes no answer: " + JSON.stringify(still));
  await page.goto(dash + "/b/dash-photos/cors");
  expect(Number(await page.textContent("#staged-allowed")) >= 1, await page.textContent("#staged-counts"));
  await shot("cors-report-only");
  await page.click("#promote");
  await page.waitForSelector("#saved");
  const now = await fetchFromSite(shareUrl, { "X-Custom": "1" });
  expect(now.ok && now.status === 200, "allowed once promoted: " + JSON.stringify(now));
});

await check("bad rules are shown with the error at their rule and field", async () => {
  await page.goto(dash + "/b/dash-photos/cors");
  await page.fill("#rules-text", JSON.stringify([
    { corsRuleName: "good", allowedOrigins: ["https://a.example"], allowedOperations: ["s3_get"] },
    { corsRuleName: "broken", allowedOrigins: ["https://b.example/path"], allowedOperations: ["s3_get"] },
  ]));
  await page.click('#editor button[name="mode"]');
  await page.waitForSelector("#errors");
  const errors = await page.textContent("#errors");
  expect(errors.includes("broken") && errors.includes("allowedOrigins"), errors);
  expect(!(await page.$("#save-rules")), "nothing to save");
});

await check("the simulator explains a refused upload and an allowed download", async () => {
  const sim = async (method) => {
    await page.goto(dash + "/b/dash-photos/cors");
    await page.fill('#simulator input[name="origin"]', origin);
    await page.fill('#simulator input[name="method"]', method);
    await page.click("#simulator button");
    await page.waitForSelector("#sim-verdict");
    return page.textContent("#simulation");
  };
  const put = await sim("PUT");
  expect(put.includes("Refused") && put.includes("s3_put"), put);
  const get = await sim("GET");
  expect(get.includes("Allowed") && get.includes("Access-Control-Allow-Origin: " + origin), get);
  expect(get.includes("curl -i -X OPTIONS"), "a curl command");
  await shot("cors-simulator");
});

await check("a bad bucket policy is refused with the engine's message", async () => {
  await page.goto(dash + "/b/dash-photos/settings");
  await page.fill('#settings textarea[name="policy"]', '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::elsewhere/*"}]}');
  await page.click('#settings form[action$="/settings"] button');
  const message = await page.textContent("#error-message");
  expect(message.includes("not saved") && message.includes("Resource"), message);
});

// A webhook receiver, as the backend of someone whose users upload from the browser.
const SECRET = "0123456789abcdefABCDEF0123456789";
const hooks = [];
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const signed = "v1=" + crypto.createHmac("sha256", SECRET).update(body).digest("hex");
    for (const e of JSON.parse(body).events) hooks.push({ ...e, signed: signed === req.headers["x-bz-event-notification-signature"] });
    res.writeHead(200).end();
  });
}).listen(0, "127.0.0.1");
await new Promise((r) => receiver.once("listening", r));
const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
async function until(cond, what) {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 100));
  expect(cond(), what);
}

await check("a webhook rule is saved, tested on demand, and its signed deliveries listed", async () => {
  await page.goto(dash + "/b/dash-photos");
  await page.click('a[href="/b/dash-photos/events"]');
  await page.waitForSelector("#no-rules");
  await page.fill('#rule-form input[name="name"]', "thumbnails");
  await page.fill('#rule-form input[name="url"]', hookUrl);
  await page.fill('#rule-form input[name="secret"]', SECRET);
  await Promise.all([page.waitForNavigation(), page.click("#rule-form button")]);
  await page.waitForSelector('tr.rule[data-name="thumbnails"]');
  const tests = () => hooks.filter((e) => e.eventType === "b2:TestEvent");
  await until(() => tests().length === 1, "saving sends a test event: " + JSON.stringify(hooks));
  // The button posts a form and the page comes back: wait for that navigation to finish.
  await Promise.all([page.waitForNavigation(), page.click('tr.rule[data-name="thumbnails"] button.send-test')]);
  await until(() => tests().length === 2, "the button sends another");
  expect(hooks.every((e) => e.signed && e.matchedRuleName === "thumbnails"), "signed: " + JSON.stringify(hooks));
  let delivered = 0;
  for (let i = 0; i < 50 && delivered < 2; i++) {
    await page.goto(dash + "/b/dash-photos/events");
    delivered = (await page.$$("#deliveries tr.ok")).length;
    if (delivered < 2) await new Promise((r) => setTimeout(r, 100));
  }
  expect(delivered === 2, `two deliveries listed, saw ${delivered}`);
  expect((await page.textContent("#deliveries tr.ok .status")).trim() === "200", "with their status");
  await shot("events");
  await page.fill('#rule-form input[name="name"]', "no");
  await page.fill('#rule-form input[name="url"]', hookUrl);
  await page.click("#rule-form button");
  const message = await page.textContent("#error-message");
  expect(message.includes("not saved") && message.includes("name"), message);
});

// Reads `url` in its own tab until `ok(status, text)` holds (the server caches a bucket's
// settings for a second), returning the last status, text and final URL.
async function visitUntil(url, ok) {
  const p = await context.newPage();
  try {
    let got;
    for (let i = 0; i < 30; i++) {
      const r = await p.goto(url);
      got = { status: r.status(), text: await p.content(), url: p.url() };
      if (ok(got.status, got.text)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    return got;
  } finally {
    await p.close();
  }
}

await check("a bucket becomes a website: settings checked at their fields, its address serves it once public", async () => {
  await page.goto(dash + "/b/dash-photos");
  await page.click('a[href="/b/dash-photos/website"]');
  expect((await page.textContent("#website-state")).includes("not a website"), "not yet");
  await page.fill('#website-form input[name="index"]', "pages/index.html");
  await page.click("#website-form button");
  expect((await page.textContent("#index-error")).includes("slash"), "the index document refused at its field");
  await page.fill('#website-form input[name="index"]', "hello.txt");
  await page.fill('#website-form textarea[name="rules"]', '[{"Condition": {"KeyPrefixEquals": "old/"}, "Redirect": {"ReplaceKeyPrefixWith": "albums/", "HttpRedirectCode": "200"}}]');
  await page.click("#website-form button");
  expect((await page.textContent("#rules-error")).includes("3xx"), "a rule refused at its field");
  expect((await page.inputValue('#website-form input[name="index"]')) === "hello.txt", "what was typed is kept");
  await page.fill('#website-form textarea[name="rules"]', '[{"Condition": {"KeyPrefixEquals": "old/"}, "Redirect": {"ReplaceKeyPrefixWith": "albums/"}}]');
  await Promise.all([page.waitForNavigation(), page.click("#website-form button")]);
  const address = (await page.textContent("#website-addresses a")).trim();
  expect(address.startsWith("http://dash-photos.s3-website.localhost:"), address);
  expect(await page.$("#not-public"), "warned that nothing is public yet");
  await shot("website");
  let got = await visitUntil(address, (status) => status !== 404);
  expect(got.status === 403, `private objects are not served: ${got.status}`);
  await page.goto(dash + "/b/dash-photos/settings");
  await page.selectOption('#settings select[name="visibility"]', "public");
  await Promise.all([page.waitForNavigation(), page.click('#settings form[action$="/settings"] button')]);
  got = await visitUntil(address, (status) => status === 200);
  expect(got.text.includes("hello from the dashboard"), "the index document: " + got.text);
  got = await visitUntil(address + "old/2026/", (_, text) => true);
  expect(got.url.endsWith("/albums/2026/"), "the routing rule redirected: " + got.url);
  await page.goto(dash + "/b/dash-photos/settings");
  await page.selectOption('#settings select[name="visibility"]', "private");
  await Promise.all([page.waitForNavigation(), page.click('#settings form[action$="/settings"] button')]);
  await page.goto(dash + "/b/dash-photos/website");
  await Promise.all([page.waitForNavigation(), page.click("#website-remove button")]);
  expect((await page.textContent("#website-state")).includes("not a website"), "removed");
});

await check("a bucket's default encryption is set in its settings; an upload is then encrypted and says so", async () => {
  await page.goto(dash + "/b/dash-other/settings");
  await page.selectOption('#settings select[name="encryption"]', "sse-s3");
  await Promise.all([page.waitForNavigation(), page.click('#settings form[action$="/settings"] button')]);
  expect((await page.inputValue('#settings select[name="encryption"]')) === "sse-s3", "saved");
  await page.goto(dash + "/b/dash-other");
  await page.setInputFiles("#files", [{ name: "sealed.txt", mimeType: "text/plain", buffer: Buffer.from("sealed at rest") }]);
  await page.waitForSelector('#progress[data-state="done"]');
  await page.goto(dash + "/b/dash-other/object?key=sealed.txt");
  const details = await page.textContent("dl.details");
  expect(details.includes("SSE-S3"), "the object page shows its encryption: " + details);
  await page.goto(dash + "/b/dash-other/settings");
  await page.selectOption('#settings select[name="encryption"]', "sse-kms");
  await page.fill('#settings input[name="kms_key"]', "no-such-key");
  await page.click('#settings form[action$="/settings"] button');
  const message = await page.textContent("#error-message");
  expect(message.includes("key ring has no key"), message);
});

await check("versioning is turned on and suspended in a bucket's settings, and never back off", async () => {
  await page.goto(dash + "/b/dash-other/settings");
  expect((await page.inputValue('#settings select[name="versioning"]')) === "off", "a new S3 bucket keeps no versions");
  await page.selectOption('#settings select[name="versioning"]', "on");
  await Promise.all([page.waitForNavigation(), page.click('#settings form[action$="/settings"] button')]);
  expect((await page.inputValue('#settings select[name="versioning"]')) === "on", "saved on");
  const offered = await page.$$eval('#settings select[name="versioning"] option', (os) => os.map((o) => o.value));
  expect(!offered.includes("off"), "off is no longer offered: " + offered);
  await page.selectOption('#settings select[name="versioning"]', "suspended");
  await Promise.all([page.waitForNavigation(), page.click('#settings form[action$="/settings"] button')]);
  expect((await page.inputValue('#settings select[name="versioning"]')) === "suspended", "saved suspended");
  await page.goto(dash + "/b/dash-other");
  expect((await page.textContent("p.meta")).includes("versions suspended"), await page.textContent("p.meta"));
});

await check("an object's versions: download one, restore it, delete one, find the deleted key in the listing, and undelete it", async () => {
  await page.goto(dash + "/");
  await page.fill('#create-bucket input[name="name"]', "dash-versions");
  await page.selectOption('#create-bucket select[name="flavour"]', "b2");
  await Promise.all([page.waitForURL("**/b/dash-versions"), page.click("#create-bucket button")]);
  for (const text of ["first draft", "second draft"]) {
    await page.goto(dash + "/b/dash-versions");
    await page.setInputFiles("#files", [{ name: "doc.txt", mimeType: "text/plain", buffer: Buffer.from(text) }]);
    await page.waitForSelector('#progress[data-state="done"]');
  }
  const open = () => page.goto(dash + "/b/dash-versions/object?key=doc.txt");
  const rows = async () => page.$$eval("#versions tr.version", (trs) => trs.map((tr) => tr.textContent));
  const body = async (row) => {
    // The download button's form answers with a redirect to a presigned link to that version:
    // post the row's form as the page would, and follow the link.
    const form = `#versions tr.version:nth-child(${row}) form`;
    const fields = {};
    for (const name of ["csrf", "key", "version"]) fields[name] = await page.getAttribute(`${form} input[name="${name}"]`, "value");
    const answer = await page.request.post(dash + "/b/dash-versions/version", { form: { ...fields, action: "download" }, maxRedirects: 0 });
    expect(answer.status() === 303, `a redirect, not ${answer.status()}`);
    return (await page.request.get(answer.headers()["location"])).text();
  };
  await open();
  expect((await rows()).length === 2, "two versions");
  expect((await body(2)) === "first draft", "the older version downloads");
  await open();
  await Promise.all([page.waitForNavigation(), page.click("#versions tr.version:nth-child(2) button.restore")]);
  let r = await rows();
  expect(r.length === 3 && r[0].includes("(current)"), "a third version on top: " + JSON.stringify(r));
  expect((await body(1)) === "first draft", "the restored version is current");
  await open();
  await Promise.all([page.waitForNavigation(), page.click("#versions tr.version:nth-child(1) button.delete-version")]);
  expect((await rows()).length === 2, "deleted for good");
  expect((await body(1)) === "second draft", "the one before is current again");
  // Deleting the key in a versioned bucket adds a marker; removing it brings the key back.
  await page.goto(dash + "/b/dash-versions");
  await Promise.all([page.waitForNavigation(), page.click('#objects form[action$="/delete-objects"] button')]);
  // The listing shows deleted files on request, and leads to the key's page.
  await page.click("#show-deleted");
  await page.waitForSelector("#hidden");
  expect((await page.textContent("#hidden")).includes("doc.txt"), await page.textContent("#hidden"));
  await Promise.all([page.waitForNavigation(), page.click("#hidden a")]);
  expect(await page.$("#deleted"), "the page says the key is deleted");
  await Promise.all([page.waitForNavigation(), page.click("#versions button.undelete")]);
  expect(!(await page.$("#deleted")), "the key is back");
  expect((await rows()).length === 2, "the marker is gone");
  await shot("versions");
});

// boto3 (the test venv's), for checks that use a key the console made the way a user would.
function boto3(script, env) {
  const python = new URL("../../.venv/bin/python", import.meta.url).pathname;
  return execFileSync(python, ["-c", script], {
    env: { ...process.env, AWS_DEFAULT_REGION: "us-east-1", AWS_CONFIG_FILE: "/dev/null",
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null", ...env },
    encoding: "utf8",
  });
}
const S3 = `import boto3, os
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["PIER_ENDPOINT"],
                  config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
`;

// B2's native API from Python's standard library, as the default key: bucket(NAME) is the
// bucket as b2_list_buckets shows it.
const B2 = `import base64, json, os, urllib.request
def call(url, data=None, auth=None):
    req = urllib.request.Request(url, data=None if data is None else json.dumps(data).encode())
    req.add_header("Authorization", auth)
    return json.load(urllib.request.urlopen(req))
basic = base64.b64encode((os.environ["ACCESS_KEY"] + ":" + os.environ["SECRET_KEY"]).encode()).decode()
session = call(os.environ["PIER_ENDPOINT"] + "/b2api/v2/b2_authorize_account", auth="Basic " + basic)
def bucket(name):
    found = call(session["apiUrl"] + "/b2api/v2/b2_list_buckets",
                 {"accountId": session["accountId"], "bucketName": name}, session["authorizationToken"])
    return found["buckets"][0]
`;


await check("object lock with a default retention is turned on in the settings, read back through S3 and B2; a locked version's delete shows why not", async () => {
  await page.goto(dash + "/b/dash-versions/settings");
  await page.check('#object-lock input[name="object_lock"]');
  await page.selectOption('#object-lock select[name="retention_mode"]', "governance");
  await page.fill('#object-lock input[name="retention_period"]', "1");
  await Promise.all([page.waitForNavigation(), page.click('#settings form[action$="/settings"] button')]);
  expect((await page.textContent("#object-lock")).includes("On:"), await page.textContent("#object-lock"));
  expect((await page.inputValue('#object-lock select[name="retention_mode"]')) === "governance", "the default is shown");
  const admin = { AWS_ACCESS_KEY_ID: process.env.ACCESS_KEY, AWS_SECRET_ACCESS_KEY: process.env.SECRET_KEY };
  const s3lock = boto3(S3 + `r = s3.get_object_lock_configuration(Bucket="dash-versions")["ObjectLockConfiguration"]
print(r["ObjectLockEnabled"], r["Rule"]["DefaultRetention"]["Mode"], r["Rule"]["DefaultRetention"]["Days"])`, admin);
  expect(s3lock.trim() === "Enabled GOVERNANCE 1", "S3 reads the default: " + s3lock);
  const b2lock = boto3(B2 + `lock = bucket("dash-versions")["fileLockConfiguration"]["value"]
print(lock["isFileLockEnabled"], json.dumps(lock["defaultRetention"], sort_keys=True))`, {});
  expect(b2lock.trim() === 'True {"mode": "governance", "period": {"duration": 1, "unit": "days"}}', "B2 reads the default: " + b2lock);
  await page.goto(dash + "/b/dash-versions");
  await page.setInputFiles("#files", [{ name: "kept.txt", mimeType: "text/plain", buffer: Buffer.from("kept for a day") }]);
  await page.waitForSelector('#progress[data-state="done"]');
  await page.goto(dash + "/b/dash-versions/object?key=kept.txt");
  expect((await page.textContent("#versions tr.version .lock")).includes("governance until"), await page.textContent("#versions"));
  await page.click("#versions tr.version button.delete-version");
  const message = await page.textContent("#error-message");
  expect(message.includes("not deleted") && message.includes("retention"), message);
});

let account;
await check("an account is created in the console; its first key, shown once, works from boto3", async () => {
  await page.goto(dash + "/accounts");
  await page.fill('#create-account input[name="description"]', "tenant one");
  await page.click("#create-account button");
  await page.waitForSelector("#created-account");
  account = {
    id: (await page.textContent("#new-account-id")).trim(),
    key: (await page.textContent("#new-account-key-id")).trim(),
    secret: (await page.textContent("#new-account-secret")).trim(),
  };
  const out = boto3(S3 + `s3.create_bucket(Bucket="tenant-one")
s3.put_object(Bucket="tenant-one", Key="a.txt", Body=b"a" * 3000)
print(s3.list_buckets()["Owner"]["ID"])`, { AWS_ACCESS_KEY_ID: account.key, AWS_SECRET_ACCESS_KEY: account.secret });
  expect(out.trim() === account.id, "boto3 acts in the new account: " + out);
  await page.goto(dash + "/accounts");
  expect(!(await page.content()).includes(account.secret), "the secret is shown only once");
  const section = await page.textContent(`#account-${account.id}`);
  expect(section.includes("tenant-one") && section.includes("1 objects") && section.includes(account.key), section);
});

await check("caps set in the console: a bad value is refused at its field, an upload over a bucket's cap is refused in the console and over S3", async () => {
  await page.goto(dash + "/accounts");
  await page.fill('#caps-bucket-dash-other input[name="storage"]', "lots");
  await page.click("#caps-bucket-dash-other button");
  const error = await page.textContent("#caps-error");
  expect(error.includes("Storage cap of bucket dash-other"), error);
  await page.goto(dash + "/accounts");
  await page.fill('#caps-bucket-dash-other input[name="storage"]', "2KB");
  await page.click("#caps-bucket-dash-other button");
  await page.waitForURL("**/accounts#bucket-dash-other");
  expect((await page.inputValue('#caps-bucket-dash-other input[name="storage"]')) === "2000", "the cap is kept");
  await page.goto(dash + "/b/dash-other");
  await page.setInputFiles("#files", [{ name: "big.txt", mimeType: "text/plain", buffer: Buffer.alloc(3000, 3) }]);
  await page.waitForSelector('#progress li[data-state="error"]');
  const refused = await page.textContent('#progress li[data-state="error"]');
  expect(refused.includes("storage cap"), refused);
  const out = boto3(S3 + `try:
    s3.put_object(Bucket="dash-other", Key="over", Body=b"o" * 3000)
    print("stored")
except s3.exceptions.ClientError as e:
    print(e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"])`,
  { AWS_ACCESS_KEY_ID: process.env.ACCESS_KEY, AWS_SECRET_ACCESS_KEY: process.env.SECRET_KEY });
  expect(out.trim() === "403 StorageCapExceeded", out);
  await page.goto(dash + "/");
  expect((await page.textContent("#buckets")).includes("of 2.0 KiB"), "the list shows the cap");
  await page.goto(dash + "/accounts");
  await shot("accounts");
});

await check("a bucket's tags are set in its settings, checked as S3 checks them, and boto3 reads them", async () => {
  await page.goto(dash + "/b/dash-other/settings");
  await page.fill("#bucket-tags", "aws:team=blue");
  await Promise.all([page.waitForNavigation(), page.click('#settings form[action$="/settings"] button')]);
  const refused = await page.textContent("#error-message");
  expect(refused.includes("Tag keys starting with aws: are reserved"), refused);
  await page.goto(dash + "/b/dash-other/settings");
  await page.fill("#bucket-tags", "team=blue\ncost-centre=42");
  await Promise.all([page.waitForNavigation(), page.click('#settings form[action$="/settings"] button')]);
  expect((await page.inputValue("#bucket-tags")) === "cost-centre=42\nteam=blue", await page.inputValue("#bucket-tags"));
  await shot("settings");
  const out = boto3(S3 + `print(sorted((t["Key"], t["Value"]) for t in s3.get_bucket_tagging(Bucket="dash-other")["TagSet"]))`,
    { AWS_ACCESS_KEY_ID: process.env.ACCESS_KEY, AWS_SECRET_ACCESS_KEY: process.env.SECRET_KEY });
  expect(out.trim() === "[('cost-centre', '42'), ('team', 'blue')]", out);
});

await check("a bucket's lifecycle rules are set in B2's form, refused with B2's message, and read back as S3 rules (boto3) and B2 rules (b2_list_buckets)", async () => {
  await page.goto(dash + "/b/dash-other/settings");
  await page.fill("#bucket-lifecycle", '[{"fileNamePrefix": "logs/"}]');
  await Promise.all([page.waitForNavigation(), page.click('#settings form[action$="/settings"] button')]);
  const refused = await page.textContent("#error-message");
  expect(refused.includes("does nothing"), refused);
  await page.goto(dash + "/b/dash-other/settings");
  await page.fill("#bucket-lifecycle", '[{"fileNamePrefix": "logs/", "daysFromUploadingToHiding": 7, "daysFromHidingToDeleting": 30}]');
  await Promise.all([page.waitForNavigation(), page.click('#settings form[action$="/settings"] button')]);
  expect((await page.inputValue("#bucket-lifecycle")).includes('"daysFromHidingToDeleting": 30'), await page.inputValue("#bucket-lifecycle"));
  const out = boto3(S3 + `r = s3.get_bucket_lifecycle_configuration(Bucket="dash-other")["Rules"][0]
print(r.get("Filter", {}).get("Prefix", r.get("Prefix")), r["Expiration"]["Days"], r["NoncurrentVersionExpiration"]["NoncurrentDays"])`,
  { AWS_ACCESS_KEY_ID: process.env.ACCESS_KEY, AWS_SECRET_ACCESS_KEY: process.env.SECRET_KEY });
  expect(out.trim() === "logs/ 7 30", out);
  const b2rules = boto3(B2 + `print(json.dumps(bucket("dash-other")["lifecycleRules"], sort_keys=True))`, {});
  expect(b2rules.trim() === '[{"daysFromHidingToDeleting": 30, "daysFromStartingToCancelingUnfinishedLargeFiles": null, "daysFromUploadingToHiding": 7, "fileNamePrefix": "logs/"}]',
    "B2 reads the rule: " + b2rules);
});

await check("beside a bucket's policy, 'who may do what here' explains a decision with the engine's trace", async () => {
  await page.goto(dash + "/b/dash-photos/settings");
  await page.fill('#explain-here input[name="object"]', "hello.txt");
  await Promise.all([page.waitForNavigation(), page.click("#explain-here button")]);
  const verdict = await page.textContent("#verdict");
  expect(verdict.startsWith("Allowed"), verdict);
  expect((await page.$$("#trace li")).length > 0 && (await page.textContent("h1")).includes("s3:GetObject"), "a trace");
  expect((await page.textContent("main")).includes("dash-photos / hello.txt"), "the object");
});

await check("a staged policy and access are decided beside the live ones: the requests whose verdict would change are listed exactly, then promoted", async () => {
  const admin = { AWS_ACCESS_KEY_ID: process.env.ACCESS_KEY, AWS_SECRET_ACCESS_KEY: process.env.SECRET_KEY };
  boto3(S3 + `s3.put_object(Bucket="dash-photos", Key="keep/a.txt", Body=b"kept")
s3.put_object(Bucket="dash-photos", Key="scratch/b.txt", Body=b"scratch")`, admin);
  await page.goto(dash + "/b/dash-photos/settings");
  await page.selectOption('#settings select[name="visibility"]', "public");
  await page.fill("#bucket-policy", JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "KeepKept",
    Effect: "Deny", Principal: "*", Action: "s3:DeleteObject", Resource: "arn:aws:s3:::dash-photos/keep/*" }] }));
  await Promise.all([page.waitForNavigation(), page.click("#stage-access")]);
  expect(page.url().endsWith("/b/dash-photos/access"), page.url());
  expect((await page.textContent("#no-flips")).includes("No request"), "nothing counted yet");
  expect((await page.textContent("#staged-visibility")).trim() === "public", "the staged access");
  // Traffic as users make it: the live settings answer, the staged ones are only counted.
  const anon = (key) => boto3(`import urllib.request, urllib.error, os
try:
    print(urllib.request.urlopen(os.environ["PIER_ENDPOINT"] + "/dash-photos/" + os.environ["OBJECT"]).status)
except urllib.error.HTTPError as e:
    print(e.code)`, { OBJECT: key });
  expect(anon("keep/a.txt").trim() === "403", "private today: anonymous reads are refused");
  const out = boto3(S3 + `s3.get_object(Bucket="dash-photos", Key="keep/a.txt")["Body"].read()
s3.delete_object(Bucket="dash-photos", Key="scratch/b.txt")
for _ in range(2):
    s3.delete_object(Bucket="dash-photos", Key="keep/a.txt")
print("deleted")`, admin);
  expect(out.trim() === "deleted", "the live settings still allow the deletes: " + out);
  await page.goto(dash + "/b/dash-photos/access");
  await shot("access-report-only");
  const rows = await page.$$eval("#access-flips tr.flip", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].slice(0, 5).map((td) => td.textContent.trim())));
  const refusedRows = rows.filter((r) => r[3] === "refused");
  expect(refusedRows.length === 1 && refusedRows[0][0] === process.env.ACCESS_KEY && refusedRows[0][1] === "s3:DeleteObject"
    && refusedRows[0][2] === "keep/a.txt" && refusedRows[0][4] === "2", "exactly the deletes of keep/a.txt would be refused: " + JSON.stringify(rows));
  const allowedRows = rows.filter((r) => r[3] === "allowed");
  expect(allowedRows.length === 1 && allowedRows[0][0] === "anonymous" && allowedRows[0][1] === "s3:GetObject" && allowedRows[0][2] === "keep/a.txt",
    "the anonymous read would be allowed: " + JSON.stringify(rows));
  expect((await page.textContent("#access-flips")).includes("KeepKept"), "the staged trace names the statement");
  expect((await page.textContent("#access-refused")).trim() === "2", await page.textContent("#access-counts"));
  await Promise.all([page.waitForNavigation(), page.click("#promote-access button")]);
  expect((await page.textContent("#nothing-staged")).includes("Nothing is staged"), "promoted");
  const denied = boto3(S3 + `s3.put_object(Bucket="dash-photos", Key="keep/c.txt", Body=b"c")
try:
    s3.delete_object(Bucket="dash-photos", Key="keep/c.txt")
    print("deleted")
except s3.exceptions.ClientError as e:
    print(e.response["Error"]["Code"])`, admin);
  expect(denied.trim() === "AccessDenied", "promoted: the delete is refused now: " + denied);
  expect(anon("keep/c.txt").trim() === "200", "promoted: anonymous reads are allowed now");
  await page.goto(dash + "/audit?bucket=dash-photos");
  expect((await page.textContent("#audit")).includes("console:promote report-only access"), "the promotion is in the audit log");
  // Back to private, without a policy, for the checks after this one.
  await page.goto(dash + "/b/dash-photos/settings");
  await page.selectOption('#settings select[name="visibility"]', "private");
  await page.fill("#bucket-policy", "");
  await Promise.all([page.waitForNavigation(), page.click('#settings form[action$="/settings"] button')]);
  expect(anon("keep/c.txt").trim() === "403", "private again");
});

await check("the audit log shows the console's and S3's changes to a bucket, and downloads them as JSON lines", async () => {
  await page.goto(dash + "/b/dash-other");
  await page.click("text=Audit log");
  await page.waitForSelector("#audit");
  const table = await page.textContent("#audit");
  expect(table.includes("console:caps") && table.includes("console:create bucket"), table);
  expect(table.includes(process.env.ACCESS_KEY) && table.includes('"storage":2000'), table);
  await shot("audit");
  const href = await page.getAttribute("#audit-download", "href");
  const lines = await page.evaluate(async (href) => (await (await fetch(href)).text()).trim().split("\n"), href);
  const changes = lines.map((l) => JSON.parse(l));
  const caps = changes.find((c) => c.action === "console:caps");
  expect(caps && caps.bucket === "dash-other" && caps.after.storage === 2000 && caps.before.storage === null
    && /^\d{4}-\d\d-\d\dT/.test(caps.time) && caps.remote_addr === "127.0.0.1", JSON.stringify(changes));
  expect(changes.every((c) => c.bucket === "dash-other"), "only the bucket's changes");
});

await check("traffic charts show the API's requests as SVG and as a table, overall and for a bucket, for the hour and the day", async () => {
  // Traffic of our own: the share link twice, and an unsigned GET the bucket refuses.
  for (let i = 0; i < 2; i++) expect((await fetch(shareUrl)).status === 200, "shared link");
  expect((await fetch(api + "/dash-photos/hello.txt")).status === 403, "unsigned is refused");
  await page.goto(dash + "/traffic");
  const lines = await page.$$eval("#charts svg", (els) => els.map((e) => e.querySelectorAll("polyline").length));
  expect(lines.length === 4 && lines.every((n) => n >= 1), "four charts with lines: " + JSON.stringify(lines));
  const column = async (name) => page.$$eval("#traffic tr", (rows, name) => {
    const i = [...rows[0].children].findIndex((th) => th.textContent === name);
    return rows.slice(1).reduce((n, r) => n + (Number(r.children[i].textContent) || 0), 0);
  }, name);
  expect((await column("Requests")) >= 3 && (await column("4xx")) >= 1 && (await column("access refused")) >= 1,
    `requests ${await column("Requests")}, 4xx ${await column("4xx")}`);
  await shot("traffic");
  await page.click("#windows >> text=Last day");
  expect((await page.textContent("#charts")).includes("24 h ago") && (await column("Requests")) >= 3, "the day");
  await page.goto(dash + "/b/dash-photos");
  await page.click('nav.tabs a[href="/traffic?bucket=dash-photos"]');
  await page.waitForURL("**/traffic?bucket=dash-photos");
  expect((await page.textContent("h1")).includes("dash-photos") && (await column("Requests")) >= 3
    && (await column("4xx and 5xx")) >= 1, "the bucket's own: " + (await page.textContent("#traffic")));
});

await check("an account is deleted after a confirmation that says its buckets are kept; its key stops working", async () => {
  await page.goto(dash + "/accounts");
  const said = await page.getAttribute(`#delete-account-${account.id}`, "data-confirm");
  expect(said.includes("KEPT") && said.includes("1 bucket(s)"), said);
  await page.click(`#delete-account-${account.id} button`);
  await page.waitForURL("**/accounts");
  expect(!(await page.$(`#account-${account.id} #delete-account-${account.id}`)), "no longer deletable");
  const out = boto3(S3 + `try:
    s3.list_buckets()
    print("allowed")
except s3.exceptions.ClientError as e:
    print(e.response["Error"]["Code"])`, { AWS_ACCESS_KEY_ID: account.key, AWS_SECRET_ACCESS_KEY: account.secret });
  expect(out.trim() === "InvalidAccessKeyId", out);
  expect((await page.textContent(`#account-${account.id}`)).includes("tenant-one"), "its bucket is kept");
});

await check("at a phone's width (390 px) no page scrolls sideways and the header fits", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    const wide = [];
    for (const path of ["/", "/b/dash-photos", "/b/dash-photos/settings", "/b/dash-photos/access",
      "/b/dash-photos/object?key=hello.txt", "/b/dash-photos/cors",
      "/b/dash-photos/events", "/b/dash-photos/website", "/keys", "/accounts", "/audit", "/traffic"]) {
      await page.goto(dash + path);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      if (width > 390) wide.push(`${path}: ${width}px`);
    }
    expect(wide.length === 0, "pages wider than the phone: " + wide.join(", "));
    await page.goto(dash + "/");
    const header = await page.evaluate(() => document.querySelector("header.top").getBoundingClientRect().right);
    expect(header <= 390, "the header is " + header + "px wide");
    await shot("phone");
  } finally {
    await page.setViewportSize({ width: 1200, height: 900 });
  }
});

let restricted;
await check("create a restricted key; its secret is shown once", async () => {
  await page.goto(dash + "/keys");
  await page.fill('#create-key input[name="description"]', "photos reader");
  for (const c of ["listBuckets", "listFiles", "readFiles"]) await page.check(`#create-key input[name="cap_${c}"]`);
  await page.selectOption('#create-key select[name="bucket"]', "dash-photos");
  await page.click("#create-key button");
  await page.waitForSelector("#created-key");
  restricted = { id: (await page.textContent("#new-key-id")).trim(), secret: (await page.textContent("#new-key-secret")).trim() };
  expect(restricted.secret.length > 20, "a secret");
  await shot("keys");
  await page.goto(dash + "/keys");
  expect(!(await page.content()).includes(restricted.secret), "shown only once");
});

await check("signed in with the restricted key, only its bucket is seen", async () => {
  await page.click(".signout button");
  await signIn(restricted.id, restricted.secret);
  const text = await page.textContent("#buckets");
  expect(text.includes("dash-photos") && !text.includes("dash-other"), text);
  expect(!(await page.$("#create-bucket")), "no create form without writeBuckets");
  await page.goto(dash + "/b/dash-other");
  expect((await page.textContent("#error-message")).includes("may not"), "refused elsewhere");
});

const code = tally();
await browser.close();
site.close();
receiver.close();
process.exit(code);
