#!/usr/bin/env bash
# Shared by scripts/container-test.sh and scripts/release.sh (source it): a private Docker daemon, base images made
# from a debootstrapped Debian root filesystem (no registry needed), the self-contained `streamml` and its image.
#
#   container_docker_start    starts dockerd (own data root, socket and bridge) unless DOCKER_HOST already answers
#   container_docker_stop     stops the dockerd this script started
#   container_base_images     imports streamml-base:bookworm and streamml-services:bookworm (kcat, PostgreSQL)
#   container_publish DIR     dotnet publish: self-contained, ReadyToRun streamml for linux-x64 into DIR
#   container_build_image TAG builds the Dockerfile's `prebuilt` target on streamml-base:bookworm
#
# Settings: STREAMML_CACHE (/var/cache/streamml: root filesystems, kept between runs), STREAMML_DOCKER_ROOT
# (/var/lib/streamml-docker), STREAMML_DOCKER_RUN (/tmp/streamml-docker: socket, pid, log), DEBIAN_MIRROR.
set -euo pipefail

container_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
container_cache="${STREAMML_CACHE:-/var/cache/streamml}"
container_run="${STREAMML_DOCKER_RUN:-/tmp/streamml-docker}"
container_mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
container_suite=bookworm
# Debian's docker.io CLI: a newer CLI on the PATH would ask for buildx, which this daemon does not have.
DOCKER="${DOCKER:-$(command -v /usr/bin/docker || command -v docker || true)}"
export DOCKER_BUILDKIT=1
container_started_dockerd=""

container_log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# Installs Debian's docker.io, docker-compose and debootstrap when missing (as root); returns 1 when it cannot.
container_install_tools() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    container_log "missing ${missing[*]} and not root: apt-get install ${missing[*]}"
    return 1
  fi
  container_log "installing ${missing[*]} (apt)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
    || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
  DOCKER="$(command -v /usr/bin/docker || command -v docker)"
}

# Starts a private dockerd unless DOCKER_HOST already reaches a daemon. Returns 1 (with the reason on stderr) when
# dockerd cannot start.
container_docker_start() {
  if [ -n "${DOCKER_HOST:-}" ] && "$DOCKER" info >/dev/null 2>&1; then
    container_log "using the Docker daemon at $DOCKER_HOST"
    return 0
  fi
  container_install_tools || return 1
  mkdir -p "$container_run"
  export DOCKER_HOST="unix://$container_run/docker.sock"
  if "$DOCKER" info >/dev/null 2>&1; then return 0; fi # a daemon of an earlier run that was not stopped
  # Its own bridge address range, so it does not collide with a system dockerd's docker0 (172.17.0.0/16).
  dockerd --data-root "${STREAMML_DOCKER_ROOT:-/var/lib/streamml-docker}" --exec-root "$container_run/exec" \
    --host "$DOCKER_HOST" --pidfile "$container_run/dockerd.pid" --bip 10.213.0.1/24 \
    --default-address-pool base=10.214.0.0/16,size=24 >"$container_run/dockerd.log" 2>&1 &
  container_started_dockerd=$!
  for _ in $(seq 60); do
    if "$DOCKER" info >/dev/null 2>&1; then
      container_log "dockerd $("$DOCKER" version --format '{{.Server.Version}}') started (pid $container_started_dockerd, $DOCKER_HOST)"
      return 0
    fi
    if ! kill -0 "$container_started_dockerd" 2>/dev/null; then break; fi
    sleep 0.5
  done
  container_log "dockerd did not start; the end of $container_run/dockerd.log:"
  tail -5 "$container_run/dockerd.log" >&2 || true
  container_docker_stop
  return 1
}

container_docker_stop() {
  [ -n "$container_started_dockerd" ] || return 0
  kill "$container_started_dockerd" 2>/dev/null || true
  for _ in $(seq 40); do kill -0 "$container_started_dockerd" 2>/dev/null || break; sleep 0.5; done
  container_started_dockerd=""
}

# debootstrap into $container_cache/NAME once (the packages in $2 on top of minbase), then `docker import` as TAG
# unless the daemon already has it.
container_rootfs_image() { # name packages tag
  local name="$1" packages="$2" tag="$3" root="$container_cache/$1-$container_suite"
  if "$DOCKER" image inspect "$tag" >/dev/null 2>&1; then return 0; fi
  if [ ! -f "$root/.complete" ]; then
    container_log "debootstrap $name ($packages) into $root (once; cached)"
    rm -rf "$root.partial" && mkdir -p "$container_cache"
    debootstrap --variant=minbase --include="$packages" "$container_suite" "$root.partial" "$container_mirror" >"$container_cache/$name.log" 2>&1 \
      || { tail -5 "$container_cache/$name.log" >&2; return 1; }
    rm -rf "$root.partial"/var/cache/apt/archives/*.deb "$root.partial"/var/lib/apt/lists/* "$root.partial"/usr/share/doc/* \
      "$root.partial"/usr/share/man/* "$root.partial"/usr/share/locale/*
    touch "$root.partial/.complete"
    rm -rf "$root" && mv "$root.partial" "$root"
  fi
  container_log "docker import $root as $tag"
  tar -C "$root" --exclude=./.complete -c . | "$DOCKER" import - "$tag" >/dev/null
}

# streamml-base: what the official runtime-deps image holds (CA certificates, ICU, OpenSSL, zlib, tzdata).
# streamml-services: the test's Kafka mock broker (kcat) and PostgreSQL.
container_base_images() {
  container_rootfs_image base ca-certificates,libicu72,libssl3,zlib1g,tzdata streamml-base:$container_suite
  container_rootfs_image services kcat,postgresql-15,postgresql-client-15,procps streamml-services:$container_suite
}

container_publish() { # output folder
  container_log "dotnet publish: self-contained ReadyToRun streamml for linux-x64 into $1"
  rm -rf "$1"
  dotnet publish "$container_repo/host/StreamMl.Host" -c Release -r linux-x64 --self-contained true -o "$1" --nologo -v q >/dev/null
}

# A publish (ReadyToRun of every assembly) takes minutes: an earlier one is reused while no source is newer than it.
container_publish_if_stale() { # output folder
  local repo="$container_repo"
  if [ -x "$1/streamml" ] && [ -z "$(find "$repo"/engine "$repo"/operators "$repo"/connectors "$repo"/host "$repo"/Directory.*.props \
       -newer "$1/streamml" \( -name '*.cs' -o -name '*.csproj' -o -name '*.proto' -o -name '*.props' \) \
       -not -path '*/obj/*' -not -path '*/bin/*' -print -quit)" ]; then
    container_log "reusing $1/streamml (no source changed since it was published)"
    return 0
  fi
  container_publish "$1"
}

# Builds the image from the published folder (the Dockerfile's `prebuilt` target; BuildKit skips the SDK stage, so
# nothing is pulled). The published folder is copied into the build context as artifacts/streamml.
container_build_image() { # tag published-folder [base image]
  local tag="$1" published="$2" base="${3:-streamml-base:$container_suite}"
  if [ "$(cd "$published" && pwd)" != "$container_repo/artifacts/streamml" ]; then
    rm -rf "$container_repo/artifacts/streamml" && mkdir -p "$container_repo/artifacts" && cp -a "$published" "$container_repo/artifacts/streamml"
  fi
  container_log "docker build --target prebuilt --build-arg BASE_IMAGE=$base -t $tag"
  "$DOCKER" build --quiet --target prebuilt --build-arg "BASE_IMAGE=$base" -t "$tag" "$container_repo" >/dev/null
}

# Sensor readings (seed 42): seq, device, temperature, vibration, pressure and the fault label (a faulty machine runs
# hot and vibrates; 3 % label noise). "csv" writes the training file, "json" one Kafka message a line, whose fault is
# the label the replicas' rollout guardrails read (the spec's model.label).
container_readings() { # csv|json first count
  awk -v format="$1" -v first="$2" -v count="$3" 'BEGIN {
    srand(42 + first)
    if (format == "csv") print "seq,device,temperature,vibration,pressure,fault"
    for (i = first; i < first + count; i++) {
      faulty = rand() < 0.2
      t = 60 + 8 * (rand() + rand() + rand() - 1.5) + (faulty ? 14 : 0)
      v = 1.5 + 0.6 * (rand() + rand() - 1) + (faulty ? 2.2 : 0)
      p = 100 + 5 * (rand() - 0.5)
      label = (rand() < 0.03) ? !faulty : faulty
      device = sprintf("m-%03d", int(rand() * 200))
      if (format == "csv") printf "%d,%s,%.3f,%.3f,%.3f,%d\n", i, device, t, v, p, label
      else printf "{\"seq\":%d,\"device\":\"%s\",\"temperature\":%.3f,\"vibration\":%.3f,\"pressure\":%.3f,\"fault\":%d}\n", i, device, t, v, p, label
    }
  }'
}

# Trains deploy/model/sensor-fault.yaml on 6,000 generated readings (from seq FIRST, default 0) into REGISTRY with the
# given streamml; returns train's exit code (3: a gate failed).
container_train() { # streamml registry work-folder [first]
  local streamml="$1" registry="$2" work="$3" first="${4:-0}"
  mkdir -p "$work/train"
  # RELEASE_MODEL_SPEC: another training spec for the same model (e.g. new hyperparameters), copied as sensor-fault.yaml.
  cp "${RELEASE_MODEL_SPEC:-$container_repo/deploy/model/sensor-fault.yaml}" "$work/train/sensor-fault.yaml"
  container_readings csv "$first" 6000 > "$work/train/readings.csv"
  container_log "streamml train --spec deploy/model/sensor-fault.yaml --registry $registry"
  "$streamml" train --spec "$work/train/sensor-fault.yaml" --registry "$registry" --plain > "$work/train/train.log" 2>&1
}
