#!/usr/bin/env bash
# The release pipeline as one script (.github/workflows/release.yml only calls it): build, test, publish, train from a
# spec, acceptance gates, image, "push", deploy two replicas, start the model's rollout. Runs end to end here against
# a local Docker daemon (it starts its own dockerd unless DOCKER_HOST answers, as scripts/container-test.sh does).
#
# Steps and their settings:
#   build     dotnet build of the solution                         RELEASE_SKIP_BUILD=1 skips it
#   test      scripts/test.sh (every test, then the container test)  RELEASE_TEST_FILTER="..." runs `dotnet test
#             --filter` on RELEASE_TEST_PROJECTS instead; RELEASE_SKIP_TESTS=1 skips it
#   publish   self-contained ReadyToRun streamml for linux-x64 into RELEASE_DIR/published
#   train     deploy/model/sensor-fault.yaml (RELEASE_MODEL_SPEC: another spec of the model) into RELEASE_REGISTRY (default RELEASE_DIR/models; a persistent registry
#             makes each release a challenger of the production version)
#   gates     train's acceptance gates (cross-validated AUC, train/held-out gap, champion margin): exit 3 stops here
#   image     docker build (Dockerfile target prebuilt) as streamml:VERSION (VERSION: RELEASE_VERSION, else git)
#   push      RELEASE_IMAGE_REPO (default localhost/streamml):VERSION; no registry here, so the image is also saved
#             with `docker save` to RELEASE_DIR/streamml-VERSION.tar.gz; RELEASE_PUSH=1 runs `docker push`
#   deploy    two replicas with deploy/container-test/compose.yaml (mock Kafka, PostgreSQL) serving the registry's
#             production version (the first release promotes its version first: nothing to roll out against); waits
#             until both are healthy; RELEASE_KEEP=1 leaves them running
#   rollout   start_rollout: `streamml rollout start --registry` records a progressive rollout of the new version in the
#             registry folder the replicas mount (RELEASE_ROLLOUT_ARGS: steps and guardrails, default a short one for
#             this test deployment); both replicas follow it while readings stream; `streamml rollout status --wait`
#             ends the release with 0 when it is promoted, 1 when it is rolled back (the reason is printed)
set -euo pipefail
# shellcheck source=scripts/container-lib.sh
source "$(dirname "$0")/container-lib.sh"
repo="$container_repo"
cd "$repo"
out="${RELEASE_DIR:-${TMPDIR:-/tmp}/streamml-release}"
registry="${RELEASE_REGISTRY:-$out/models}"
version="${RELEASE_VERSION:-$(git describe --tags --always --dirty 2>/dev/null || date -u +%Y%m%d%H%M%S)}"
image_repo="${RELEASE_IMAGE_REPO:-localhost/streamml}"
project="streamml-release"
mkdir -p "$out"
started=$(date +%s)
step() { container_log "== $*"; }
compose() { docker-compose -p "$project" -f "$repo/deploy/container-test/compose.yaml" "$@"; }

cleanup() {
  local rc=$?
  if [ -z "${RELEASE_KEEP:-}" ]; then
    [ -n "${DOCKER_HOST:-}" ] && compose down -v --timeout 30 >/dev/null 2>&1 || true
    container_docker_stop
  fi
  exit "$rc"
}
trap cleanup EXIT

if [ -z "${RELEASE_SKIP_BUILD:-}" ]; then
  step "build"
  dotnet build StreamMl.sln -c Release --nologo -v q
fi

if [ -z "${RELEASE_SKIP_TESTS:-}" ]; then
  if [ -n "${RELEASE_TEST_FILTER:-}" ]; then
    step "test: dotnet test --filter $RELEASE_TEST_FILTER"
    for project_dir in ${RELEASE_TEST_PROJECTS:-tests/StreamMl.Host.Tests}; do
      dotnet test "$project_dir" -c Release --nologo --no-build --filter "$RELEASE_TEST_FILTER"
    done
  else
    step "test: scripts/test.sh"
    ./scripts/test.sh
  fi
fi

step "publish"
container_publish_if_stale "$out/published"
streamml="$out/published/streamml"

step "train and acceptance gates"
before=$("$streamml" models list sensor-fault --registry "$registry" 2>/dev/null | grep -c '^ *[0-9]' || true)
train_rc=0
container_train "$streamml" "$registry" "$out" || train_rc=$?
tail -15 "$out/train/train.log"
if [ "$train_rc" -eq 3 ]; then container_log "a gate failed: the new version stays a candidate and nothing is released"; exit 3; fi
[ "$train_rc" -eq 0 ] || { container_log "training failed (exit $train_rc)"; exit 1; }
model_version=$(ls "$registry/sensor-fault" | grep -E '^[0-9]+$' | sort -n | tail -1)
container_log "sensor-fault version $model_version registered (versions before: $before)"

step "image streamml:$version"
container_docker_start || { container_log "dockerd cannot start: no image, no deployment"; exit 1; }
container_base_images
container_build_image "streamml:$version" "$out/published"
"$DOCKER" tag "streamml:$version" "$image_repo:$version"
"$DOCKER" tag "streamml:$version" "$image_repo:latest"

step "push $image_repo:$version"
"$DOCKER" save "$image_repo:$version" | gzip -1 > "$out/streamml-$version.tar.gz"
container_log "saved $out/streamml-$version.tar.gz ($(du -h "$out/streamml-$version.tar.gz" | cut -f1)); load it elsewhere with: docker load -i streamml-$version.tar.gz"
if [ -n "${RELEASE_PUSH:-}" ]; then "$DOCKER" push "$image_repo:$version"; fi

production=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("production") or "")' \
  "$registry/sensor-fault/stages.json" 2>/dev/null || true)
if [ -z "$production" ] || [ "$production" = "$model_version" ]; then
  step "first release: streamml models promote sensor-fault $model_version (no production version to roll out against)"
  "$streamml" models promote sensor-fault "$model_version" --registry "$registry"
  production="$model_version"
fi
# The replicas run as another user (1654) and write shared rollouts into the registry.
chmod -R a+rwX "$registry"

step "deploy two replicas"
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export STREAMML_IMAGE="$image_repo:$version" SERVICES_IMAGE="streamml-services:$container_suite" REGISTRY="$registry"
export REPLICA_A_PORT="${RELEASE_PORT_A:-$(free_port)}" REPLICA_B_PORT="${RELEASE_PORT_B:-$(free_port)}" POSTGRES_PORT="${RELEASE_POSTGRES_PORT:-$(free_port)}"
export POSTGRES_PASSWORD="${RELEASE_POSTGRES_PASSWORD:-release-$RANDOM$RANDOM}"
export STREAMML_API_KEYS="${RELEASE_API_KEYS:-admin:sha256=$(head -c 32 /dev/urandom | sha256sum | cut -d' ' -f1)}"
export PGPASSWORD="$POSTGRES_PASSWORD"
compose up -d kafka postgres >/dev/null 2>&1
for _ in $(seq 120); do psql -h 127.0.0.1 -p "$POSTGRES_PORT" -U streamml -d postgres -Atqc 'select 1' >/dev/null 2>&1 && break; sleep 0.5; done
psql -h 127.0.0.1 -p "$POSTGRES_PORT" -U streamml -d postgres -qc 'create table if not exists scores (seq bigint primary key, device text, score real)'
compose up -d replica-a replica-b >/dev/null 2>&1
for port in "$REPLICA_A_PORT" "$REPLICA_B_PORT"; do
  for _ in $(seq 600); do
    "$streamml" health --address "http://127.0.0.1:$port" --service "model/sensor-fault@$production" >/dev/null 2>&1 && break
    sleep 0.1
  done
  "$streamml" health --address "http://127.0.0.1:$port" --service "model/sensor-fault@$production" \
    || { compose logs --no-color --tail 30; container_log "replica on port $port does not serve sensor-fault@$production"; exit 1; }
done

# The progressive rollout, shared by the replicas through the registry folder (docs/rollouts.md).
start_rollout() { # registry model version
  step "rollout: streamml rollout start --registry $1 --model $2 --version $3"
  # shellcheck disable=SC2086
  "$streamml" rollout start --registry "$1" --model "$2" --version "$3" \
    ${RELEASE_ROLLOUT_ARGS:---steps 0 0.5 --min-rows 300 --min-seconds 1 --min-labels 200 --max-latency-ratio 100}
  local rc=4 first=0
  for _ in $(seq 150); do
    container_readings json $((1000000 + first)) 200 | compose exec -T kafka sh -c 'kcat -b "$(cat /run/kafka/bootstrap)" -P -t readings'
    first=$((first + 200))
    rc=0
    "$streamml" rollout status --registry "$1" --model "$2" --wait 0.5 > "$out/rollout.log" || rc=$?
    [ "$rc" = 4 ] || break
  done
  cat "$out/rollout.log"
  return "$rc"
}
rollout_rc=0
if [ "$production" != "$model_version" ]; then
  start_rollout "$registry" sensor-fault "$model_version" || rollout_rc=$?
  [ "$rollout_rc" = 4 ] && { container_log "the rollout of sensor-fault v$model_version is still running; see streamml rollout status"; exit 4; }
fi
serving=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["production"])' "$registry/sensor-fault/stages.json")
for port in "$REPLICA_A_PORT" "$REPLICA_B_PORT"; do
  for _ in $(seq 50); do "$streamml" health --address "http://127.0.0.1:$port" --service "model/sensor-fault@$serving" >/dev/null 2>&1 && break; sleep 0.1; done
  "$streamml" health --address "http://127.0.0.1:$port" --service "model/sensor-fault@$serving" >/dev/null \
    || { container_log "replica on port $port does not serve sensor-fault@$serving"; exit 1; }
done
if [ "$rollout_rc" != 0 ]; then
  container_log "sensor-fault v$model_version was rolled back; both replicas serve v$serving (streamml:$version is deployed)"
  exit 1
fi
container_log "released streamml:$version with sensor-fault v$serving: two replicas on 127.0.0.1:$REPLICA_A_PORT and :$REPLICA_B_PORT, in $(( $(date +%s) - started )) s"
