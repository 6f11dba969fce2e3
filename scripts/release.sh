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
#   train     deploy/model/sensor-fault.yaml into RELEASE_REGISTRY (default RELEASE_DIR/models; a persistent registry
#             makes each release a challenger of the production version)
#   gates     train's acceptance gates (cross-validated AUC, train/held-out gap, champion margin): exit 3 stops here
#   image     docker build (Dockerfile target prebuilt) as streamml:VERSION (VERSION: RELEASE_VERSION, else git)
#   push      RELEASE_IMAGE_REPO (default localhost/streamml):VERSION; no registry here, so the image is also saved
#             with `docker save` to RELEASE_DIR/streamml-VERSION.tar.gz; RELEASE_PUSH=1 runs `docker push`
#   rollout   start_rollout: promotes the new version with `streamml models promote` (the progressive rollout's
#             `streamml rollout` replaces this one step)
#   deploy    two replicas with deploy/container-test/compose.yaml (mock Kafka, PostgreSQL), waits until both are
#             healthy and serve the new version; RELEASE_KEEP=1 leaves them running
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

# The one step the progressive rollout (`streamml rollout`, docs/rollouts.md) replaces: today the new version
# becomes production at once, before the replicas start.
start_rollout() { # registry model version
  step "rollout: streamml models promote $2 $3"
  "$streamml" models promote "$2" "$3" --registry "$1"
}
start_rollout "$registry" sensor-fault "$model_version"
chmod -R a+rX "$registry"

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
    "$streamml" health --address "http://127.0.0.1:$port" --service "model/sensor-fault@$model_version" >/dev/null 2>&1 && break
    sleep 0.1
  done
  "$streamml" health --address "http://127.0.0.1:$port" --service "model/sensor-fault@$model_version" \
    || { compose logs --no-color --tail 30; container_log "replica on port $port does not serve sensor-fault@$model_version"; exit 1; }
done
container_log "released streamml:$version with sensor-fault v$model_version: two replicas on 127.0.0.1:$REPLICA_A_PORT and :$REPLICA_B_PORT, in $(( $(date +%s) - started )) s"
