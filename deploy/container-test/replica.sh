#!/bin/sh
# A replica's start: wait for the mock broker's address, write it into the spec (the root filesystem is read-only,
# /tmp is a tmpfs), then become `streamml serve` (exec: SIGTERM from `docker stop` reaches the host directly).
set -eu
until [ -s /run/kafka/bootstrap ]; do sleep 0.2; done
mkdir -p /tmp/specs
sed "s|@BOOTSTRAP@|$(cat /run/kafka/bootstrap)|" /specs/scoring.yaml > /tmp/specs/scoring.yaml
STREAMML_SPECS=/tmp/specs exec /app/streamml serve
