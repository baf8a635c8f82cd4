#!/usr/bin/env bash
# Install s3rver (pinned in package.json) into this folder for tests/integration/test_s3.py.
# Needs node and npm (Debian: nodejs npm). Safe to rerun; uses the lock file when present.
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules/s3rver ] && exit 0
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi
