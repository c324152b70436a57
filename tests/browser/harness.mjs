// What every Chromium check script shares: Debian's headless Chromium, launched with the flags
// the checks need, and named checks, each counted and reported as `ok` or `FAIL` with why.
import { chromium } from "playwright-core";

/** Debian's Chromium, headless and quiet (no QUIC, no background traffic), with `extra` flags. */
export function launch(extra = []) {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync", ...extra],
  });
}

let passed = 0, failed = 0;

/** Runs one named check; a thrown error fails it (printed with its stack) and the next runs. */
export async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.stack || e.message}`);
  }
}

/** Fails the running check with `what` unless `cond` holds. */
export function expect(cond, what) {
  if (!cond) throw new Error(what);
}

/** Prints `N passed, M failed` (the line the Rust tests read); the exit code to end with. */
export function tally() {
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}
