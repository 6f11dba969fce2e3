#!/usr/bin/env bash
# Runs every test. Installs what is missing, starts the services the tests need on 127.0.0.1, runs dotnet test,
# and stops the services again.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# The benchmark harness's S6 smoke test and the scikit-learn comparison use Debian's Python modules.
if ! /usr/bin/python3 -c "import pandas, sklearn, scipy, grpc, grpc_tools" 2>/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pandas python3-sklearn python3-scipy python3-grpcio python3-grpc-tools >/dev/null
  else
    echo "test.sh: /usr/bin/python3 lacks pandas/sklearn/scipy; install python3-pandas python3-sklearn python3-scipy" >&2
  fi
fi

# The monitoring report's browser test opens the page in Debian's chromium (tests/node-client/report-page.mjs); the
# alert sink test reads the Kafka topic back with kcat.
if ! command -v chromium >/dev/null || ! command -v kcat >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium kcat >/dev/null
  else
    echo "test.sh: chromium or kcat is missing; install Debian's chromium and kcat for the report and alert sink tests" >&2
  fi
fi

# Services (Kafka mock needs nothing; MQTT and PostgreSQL come from Debian) and tools (npm) are set up by these
# scripts when they exist; each exports the addresses the tests read.
if [ -x scripts/services.sh ]; then
  # shellcheck disable=SC1091
  source scripts/services.sh
  trap services_stop EXIT
  services_start
fi
if [ -x scripts/node-tools.sh ]; then
  ./scripts/node-tools.sh
fi

dotnet test StreamMl.sln -c Release --nologo "$@"

# The container test (docs/deployment.md) runs with the whole suite (no arguments) when dockerd can start here;
# in CI (CI=true) a machine where it cannot is a failure. SKIP_CONTAINER_TEST=1 leaves it out outside CI.
if [ "$#" -eq 0 ] && { [ -z "${SKIP_CONTAINER_TEST:-}" ] || [ "${CI:-}" = true ]; }; then
  container_rc=0
  ./scripts/container-test.sh || container_rc=$?
  if [ "$container_rc" -eq 75 ]; then
    if [ "${CI:-}" = true ]; then echo "test.sh: the container test cannot run in CI (dockerd did not start)" >&2; exit 1; fi
    echo "test.sh: container test skipped: dockerd cannot start here" >&2
  elif [ "$container_rc" -ne 0 ]; then
    exit "$container_rc"
  fi
fi
