#!/usr/bin/env bash
# The container test (issue 16): builds the StreamMl image on a Debian base made with debootstrap (cached in
# /var/cache/streamml) and `docker import` (no registry), then runs deploy/container-test/compose.yaml with Debian's
# docker-compose: a mock Kafka broker (kcat), PostgreSQL and two replicas in one consumer group. It streams readings,
# stops one replica (SIGTERM, drain), checks that the other takes over and that every record is in PostgreSQL exactly
# once (psql as the independent reader), and checks health and a Score call through the published ports.
#
# Exit codes: 0 passed, 1 failed, 75 cannot run here (dockerd does not start: the reason is printed).
# Settings: STREAMML_PUBLISHED (a published streamml folder: skips dotnet publish), KEEP=1 (leave the containers),
# CONTAINER_TEST_DIR (work folder, default /tmp/streamml-container-test). Figures are printed at the end.
set -euo pipefail
# shellcheck source=scripts/container-lib.sh
source "$(dirname "$0")/container-lib.sh"
repo="$container_repo"
work="${CONTAINER_TEST_DIR:-${TMPDIR:-/tmp}/streamml-container-test}"
project="streamml-ct-$$"
compose_file="$repo/deploy/container-test/compose.yaml"
started=$(date +%s.%N)
mkdir -p "$work"

compose() { docker-compose -p "$project" -f "$compose_file" "$@"; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
fail() { container_log "FAILED: $*"; exit 1; }
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

cleanup() {
  local rc=$?
  if [ -n "${DOCKER_HOST:-}" ] && [ -z "${KEEP:-}" ]; then
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 75 ]; then compose logs --no-color --tail 40 > "$work/compose.log" 2>&1 || true; container_log "logs: $work/compose.log"; fi
    compose down -v --timeout 5 >/dev/null 2>&1 || true
  fi
  [ -z "${KEEP:-}" ] && container_docker_stop
  exit "$rc"
}
trap cleanup EXIT

container_docker_start || { container_log "cannot run: dockerd does not start on this machine"; exit 75; }
base_started=$(date +%s.%N)
container_base_images
base_seconds=$(elapsed "$base_started")

published="${STREAMML_PUBLISHED:-$work/published}"
[ -n "${STREAMML_PUBLISHED:-}" ] || container_publish_if_stale "$published"
streamml="$published/streamml"

rm -rf "$work/registry"
container_train "$streamml" "$work/registry" "$work" || fail "training failed (exit $?): $(tail -3 "$work/train/train.log")"
"$streamml" models promote sensor-fault 1 --registry "$work/registry" >/dev/null
# Version 2, trained on other readings, is the candidate the replicas roll out (a failed gate leaves it a candidate too).
train_rc=0
container_train "$streamml" "$work/registry" "$work" 6000 || train_rc=$?
[ "$train_rc" = 0 ] || [ "$train_rc" = 3 ] || fail "training version 2 failed (exit $train_rc)"
# The container user (1654) writes the registry (shared rollouts) through a read-write mount.
chmod -R a+rwX "$work/registry"

image="streamml:container-test"
build_started=$(date +%s.%N)
container_build_image "$image" "$published"
build_seconds=$(elapsed "$build_started")
image_bytes=$("$DOCKER" image inspect -f '{{.Size}}' "$image")
base_bytes=$("$DOCKER" image inspect -f '{{.Size}}' "streamml-base:$container_suite")

export STREAMML_IMAGE="$image" SERVICES_IMAGE="streamml-services:$container_suite" REGISTRY="$work/registry"
export REPLICA_A_PORT=$(free_port) REPLICA_B_PORT=$(free_port) POSTGRES_PORT=$(free_port)
export POSTGRES_PASSWORD="ct-$RANDOM$RANDOM"
admin_key="admin-$RANDOM$RANDOM$RANDOM"
export STREAMML_API_KEYS="admin:sha256=$(printf '%s' "$admin_key" | sha256sum | cut -d' ' -f1)"
export PGPASSWORD="$POSTGRES_PASSWORD"
psql_at() { psql -h 127.0.0.1 -p "$POSTGRES_PORT" -U streamml -d postgres -v ON_ERROR_STOP=1 -Atq "$@"; }

compose up -d kafka postgres >/dev/null 2>&1 || fail "docker-compose up kafka postgres"
for _ in $(seq 120); do psql_at -c 'select 1' >/dev/null 2>&1 && break; sleep 0.5; done
psql_at -c 'create table scores (seq bigint primary key, device text, score real, model text)' || fail "PostgreSQL did not come up"
for _ in $(seq 60); do compose exec -T kafka test -s /run/kafka/bootstrap && break; sleep 0.5; done

produced=0
produce() { # count: readings seq produced .. produced+count-1 into topic readings (random partitions)
  container_readings json "$produced" "$1" | compose exec -T kafka sh -c 'kcat -b "$(cat /run/kafka/bootstrap)" -P -t readings'
  produced=$((produced + $1))
}
produce 3000

health() { "$streamml" health --address "http://127.0.0.1:$1" "${@:2}" >/dev/null 2>&1; }
up_started=$(date +%s.%N)
compose up -d replica-a replica-b >/dev/null 2>&1 || fail "docker-compose up replicas"
ready_a="" ready_b=""
for _ in $(seq 600); do
  [ -z "$ready_a" ] && health "$REPLICA_A_PORT" && ready_a=$(elapsed "$up_started")
  [ -z "$ready_b" ] && health "$REPLICA_B_PORT" && ready_b=$(elapsed "$up_started")
  [ -n "$ready_a" ] && [ -n "$ready_b" ] && break
  sleep 0.1
done
[ -n "$ready_a" ] && [ -n "$ready_b" ] || fail "the replicas did not become ready within 60 s"
container_log "replicas ready after ${ready_a} s and ${ready_b} s (docker-compose up to grpc health SERVING)"
health "$REPLICA_A_PORT" --service model/sensor-fault || fail "model/sensor-fault is not SERVING on replica a"
# Inside the container: from the process's start (Docker's StartedAt) to event 2001, which the host logs once Kestrel
# listens, after the spec's pipeline and model are up (hosted services start first).
log_time() { compose logs --no-color "$1" | grep -F "$2" | tail -1 | sed -n 's/.*"Timestamp":"\([^"]*\)".*/\1/p'; }
seconds_between() { awk -v a="$(date -d "$1" +%s.%N)" -v b="$(date -d "$2" +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
started_to_ready() { seconds_between "$("$DOCKER" inspect -f '{{.State.StartedAt}}' "${project}_$1_1")" "$(log_time "$1" '"EventId":2001')"; }
inside_a=$(started_to_ready replica-a)
inside_b=$(started_to_ready replica-b)
container_log "process start to listening and ready: a ${inside_a} s, b ${inside_b} s"

# The connectors log partition ownership ("kafka source readings: assigned readings[0], ...").
owned() { compose logs --no-color "$1" 2>/dev/null | grep -o '"Message":"kafka source readings: [a-z]* [^"]*' | tail -1; }
for _ in $(seq 300); do
  [[ "$(owned replica-a)" == *assigned* ]] && [[ "$(owned replica-b)" == *assigned* ]] && break
  sleep 0.2
done
container_log "replica a: $(owned replica-a)"
container_log "replica b: $(owned replica-b)"
[[ "$(owned replica-a)" == *assigned* && "$(owned replica-b)" == *assigned* ]] || fail "the two replicas did not split the partitions"
rows() { psql_at -c 'select count(*) from scores'; }
for _ in $(seq 300); do [ "$(rows)" -ge 3000 ] && break; sleep 0.2; done
container_log "rows in PostgreSQL before the stop: $(rows) of $produced"

# The rollout through the registry: shadow, then 50 %, then promotion, each step judged over both replicas' rows.
rollout_started=$(date +%s.%N)
"$streamml" rollout start --registry "$work/registry" --model sensor-fault --version 2 --steps 0 0.5 --min-rows 300 \
  --min-seconds 1 --min-labels 200 --max-latency-ratio 100 > "$work/rollout.log" || fail "streamml rollout start: $(cat "$work/rollout.log")"
rollout_rc=4
for _ in $(seq 30); do
  produce 400
  rollout_rc=0
  "$streamml" rollout status --registry "$work/registry" --model sensor-fault --wait 0.5 > "$work/rollout.log" || rollout_rc=$?
  [ "$rollout_rc" = 4 ] || break
done
rollout_seconds=$(elapsed "$rollout_started")
cat "$work/rollout.log"
[ "$rollout_rc" != 4 ] || fail "the rollout did not finish while 12,000 more readings streamed"
grep -q "replicas: replica-a, replica-b" "$work/rollout.log" || fail "both replicas should have published rollout observations"
expected_version=1
[ "$rollout_rc" = 0 ] && expected_version=2
for port in "$REPLICA_A_PORT" "$REPLICA_B_PORT"; do
  for _ in $(seq 50); do health "$port" --service "model/sensor-fault@$expected_version" && break; sleep 0.1; done
  health "$port" --service "model/sensor-fault@$expected_version" || fail "replica on $port does not serve sensor-fault@$expected_version after the rollout"
done
rollout_outcome=$(grep -o 'promoted\|rolled-back' "$work/rollout.log" | tail -1)
container_log "rollout of sensor-fault v2: $rollout_outcome after ${rollout_seconds} s; both replicas serve v$expected_version"
for _ in $(seq 300); do [ "$(rows)" -ge "$produced" ] && break; sleep 0.2; done


# Records keep coming while replica a stops: 2,000 more, 100 every 0.2 s, through one kcat.
( for chunk in $(seq 0 19); do container_readings json $((produced + chunk * 100)) 100; sleep 0.2; done ) \
  | compose exec -T kafka sh -c 'kcat -b "$(cat /run/kafka/bootstrap)" -P -t readings' &
producer=$!
sleep 1
stop_started=$(date +%s.%N)
compose stop -t 30 replica-a >/dev/null 2>&1
stop_seconds=$(elapsed "$stop_started")
exit_a=$("$DOCKER" inspect -f '{{.State.ExitCode}}' "${project}_replica-a_1")
for _ in $(seq 300); do
  [[ "$(owned replica-b)" == *"assigned readings[0], readings[1], readings[2], readings[3]"* ]] && break
  sleep 0.2
done
wait "$producer"
produced=$((produced + 2000))
[[ "$(owned replica-b)" == *"assigned readings[0], readings[1], readings[2], readings[3]"* ]] || fail "replica b did not take every partition over: $(owned replica-b)"
# Takeover from the replicas' own log timestamps: a's SIGTERM (the host begins to shut down) to b's assignment of all four.
sigterm_at=$(log_time replica-a '"Message":"Application is shutting down')
revoked_at=$(log_time replica-a '"Message":"kafka source readings: revoked')
taken_at=$(log_time replica-b '"Message":"kafka source readings: assigned readings[0], readings[1], readings[2], readings[3]')
drain=$(seconds_between "$sigterm_at" "$revoked_at")
takeover=$(seconds_between "$sigterm_at" "$taken_at")
container_log "replica a: SIGTERM handled at $sigterm_at, partitions revoked ${drain} s later, exit $exit_a ('docker-compose stop' took ${stop_seconds} s)"
container_log "replica b owned all 4 partitions at $taken_at: ${takeover} s after replica a's SIGTERM"
[ "$exit_a" = 0 ] || fail "replica a exited with $exit_a after SIGTERM (a drained stop exits with 0)"
# grep reads the whole log (grep -q would stop early and fail the pipe under pipefail when the log is long).
compose logs --no-color replica-a | grep -F 'kafka source readings: revoked' >/dev/null || fail "replica a did not give its partitions back (no 'revoked' in its log)"

caught_up=""
for _ in $(seq 600); do
  if [ "$(rows)" -ge "$produced" ]; then caught_up=$(elapsed "$stop_started"); break; fi
  sleep 0.1
done
read -r count distinct lowest highest <<<"$(psql_at -F ' ' -c 'select count(*), count(distinct seq), min(seq), max(seq) from scores')"
missing=$(psql_at -c "select count(*) from generate_series(0, $((produced - 1))) s where not exists (select 1 from scores where seq = s)")
container_log "PostgreSQL: $count rows, $distinct distinct seq, $lowest..$highest, $missing of $produced records missing"
[ "$missing" = 0 ] && [ "$count" = "$produced" ] || fail "records were lost: $missing of $produced missing ($count rows)"

# Health and Score through replica b's published port: the client is the Python client over python3-grpcio.
health "$REPLICA_B_PORT" || fail "replica b is not SERVING"
health "$REPLICA_A_PORT" && fail "replica a still answers after its stop"
docker_health=""
for _ in $(seq 150); do
  docker_health=$("$DOCKER" inspect -f '{{.State.Health.Status}}' "${project}_replica-b_1")
  [ "$docker_health" = healthy ] && break
  sleep 0.2
done
[ "$docker_health" = healthy ] || fail "Docker's HEALTHCHECK (streamml health) says $docker_health for replica b"
# Five more readings, streamed and scored by the version the rollout left in place, compared with Score answers now.
check_first=$produced
produce 5
for _ in $(seq 100); do [ "$(psql_at -c "select count(*) from scores where seq >= $check_first")" -ge 5 ] && break; sleep 0.1; done
psql_at -F ',' -c "select seq, score from scores where seq >= $check_first and model = 'sensor-fault@$expected_version' order by seq" > "$work/sample.csv"
STREAMML_API_KEY="$admin_key" PYTHONPATH="$repo/clients/python" /usr/bin/python3 "$repo/deploy/container-test/score_check.py" \
  "127.0.0.1:$REPLICA_B_PORT" "$work/sample.csv" <(container_readings json "$check_first" 5) || fail "Score through the published port"

total=$(elapsed "$started")
cat <<REPORT
container test passed in ${total} s (base images ${base_seconds} s, image build ${build_seconds} s)
  image $image: $((image_bytes / 1024 / 1024)) MiB (base streamml-base:$container_suite $((base_bytes / 1024 / 1024)) MiB)
  start-up to ready: container start -> listening with model loaded and pipeline running a ${inside_a} s, b ${inside_b} s;
    docker-compose up -> health SERVING seen through the published port (polled with streamml health) a ${ready_a} s, b ${ready_b} s
  stop of replica a: SIGTERM to partitions revoked (drained, committed) ${drain} s; exit $exit_a; docker-compose stop took ${stop_seconds} s
  takeover: replica b owned every partition ${takeover} s after replica a's SIGTERM; every record in PostgreSQL at most ${caught_up} s after the stop began (polled by this script, an upper bound)
  records: $check_first produced (before the five of the Score check), $count rows, $distinct distinct, none missing
  rollout of v2 over both replicas (registry folder): $rollout_outcome in ${rollout_seconds} s, timeline:
$(grep -E '^  [0-9]{4}-' "$work/rollout.log")
REPORT
