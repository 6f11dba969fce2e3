#!/usr/bin/env bash
# Score and ModelInfer latency with the host and the load client in separate processes (issue 19):
# starts `streamml serve` on a free port, runs `streamml bench --oip --address` against it (open loop, latency from
# each call's scheduled start), stops the host. Arguments go to `bench` (defaults: --rate 1000 --seconds 5 --rounds 4).
# DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 in the environment measures thread-pool workers that block without
# spinning (less CPU per call under load, a slower median on an idle machine: docs/BENCHMARKS.md).
# Build first: dotnet build host/StreamMl.Host -c Release
set -euo pipefail
cd "$(dirname "$0")/../.."
# The build output has dynamic PGO on; the published `streamml` ships with it off (host/StreamMl.Host/StreamMl.Host.csproj),
# and with it on the first rounds measure re-jitting. DOTNET_TieredPGO=1 in the environment measures it on.
export DOTNET_TieredPGO="${DOTNET_TieredPGO:-0}"
bin=host/StreamMl.Host/bin/Release/net10.0/streamml
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --port "$port" --metrics-port -1 >"${TMPDIR:-/tmp}/oip-latency-serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--rate 1000 --seconds 5 --rounds 4)
echo "host pid $server on port $port; load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" bench --oip --address "http://127.0.0.1:$port" "${args[@]}"
