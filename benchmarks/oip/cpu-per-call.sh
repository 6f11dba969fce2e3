#!/usr/bin/env bash
# CPU time and context switches per call of `streamml serve` and of its load client (`streamml bench --address`), which,
# unlike the latency percentiles, do not depend on how busy the rest of the machine is. Starts the host, runs the
# client, reads the host's /proc counters around the client's run, then the host's CPU while idle for IDLE_SECONDS
# (its background work: timers, metrics, rollout ticks). Arguments go to `bench` (default: Score only,
# --rate 1000 --seconds 5 --rounds 2). HOST_BIN / CLIENT_BIN pick other builds (e.g. an older commit's).
# Build first: dotnet build host/StreamMl.Host -c Release
set -euo pipefail
cd "$(dirname "$0")/../.."
host_bin=${HOST_BIN:-host/StreamMl.Host/bin/Release/net10.0/streamml}
client_bin=${CLIENT_BIN:-host/StreamMl.Host/bin/Release/net10.0/streamml}
idle=${IDLE_SECONDS:-10}
tick=$(getconf CLK_TCK)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$host_bin" serve --port "$port" --metrics-port -1 >"${TMPDIR:-/tmp}/cpu-per-call-serve.$port.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

# utime + stime of the whole process (exited threads included), in ms; switches of its live threads.
cpu_ms() { awk -v t="$tick" '{ print ($14 + $15) * 1000 / t }' "/proc/$server/stat"; }
switches() { cat /proc/"$server"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt/ { v += $2 } /^nonvoluntary_ctxt/ { n += $2 } END { print v, n }'; }

args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--rate 1000 --seconds 5 --rounds 2)
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
before=$(cpu_ms); read -r v0 n0 <<<"$(switches)"
/usr/bin/time -f 'client: %U s user, %S s system, %c involuntary, %w voluntary switches' \
  "$client_bin" bench --address "http://127.0.0.1:$port" "${args[@]}"
after=$(cpu_ms); read -r v1 n1 <<<"$(switches)"
echo "host during the client's run: $((${after%.*} - ${before%.*})) ms CPU, $((v1 - v0)) voluntary, $((n1 - n0)) involuntary switches"
sleep "$idle"
idle_after=$(cpu_ms)
echo "host idle for ${idle} s afterwards: $((${idle_after%.*} - ${after%.*})) ms CPU"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
