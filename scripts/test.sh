#!/usr/bin/env bash
# Runs every test. Installs and starts the services the tests need (later issues add Kafka, MQTT, PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet test StreamMl.sln -c Release --nologo
