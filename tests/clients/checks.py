"""The check harness the client scripts share: `@check(name)` runs a function at once and
records whether it passed; `finish()` prints "N passed, M failed" and exits non-zero on any
failure (the Rust tests assert on that line)."""

import sys

_results = []


def check(name):
    def wrap(fn):
        try:
            fn()
            print("ok   " + name)
            _results.append(True)
        except Exception as e:  # noqa: BLE001 - a failed check prints its cause and goes on
            print(f"FAIL {name}: {e!r}")
            _results.append(False)
        return fn
    return wrap


def finish():
    passed = sum(_results)
    print(f"{passed} passed, {len(_results) - passed} failed")
    sys.exit(0 if passed == len(_results) else 1)
