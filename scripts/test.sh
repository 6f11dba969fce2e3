#!/usr/bin/env bash
# Runs every test. Installs what is missing, starts the services the tests need on 127.0.0.1, runs dotnet test,
# and stops the services again.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

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
