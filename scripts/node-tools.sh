#!/usr/bin/env bash
# Installs the Node.js test packages (@grpc/grpc-js, @grpc/proto-loader, apache-arrow, playwright-core) from npm at the
# versions pinned in tests/node-client/package-lock.json. The host tests run tests/node-client/client.mjs against a live
# host, and report-page.mjs opens monitoring reports in Debian's chromium (playwright-core downloads no browser).
set -euo pipefail
cd "$(dirname "$0")/../tests/node-client"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "node-tools: node and npm are needed for the Node.js client test (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
if [ -d node_modules/@grpc/grpc-js ] && [ -d node_modules/@grpc/proto-loader ] && [ -d node_modules/apache-arrow ] \
   && [ -d node_modules/playwright-core ]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
