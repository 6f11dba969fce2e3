#!/usr/bin/env bash
# Starts the services the connector tests talk to, on 127.0.0.1 only, and exports their addresses:
#   STREAMML_MQTT=127.0.0.1:<port>            a mosquitto broker (Debian package `mosquitto`)
#   STREAMML_PG=<Npgsql connection string>    a throwaway PostgreSQL cluster (Debian package `postgresql`)
# Kafka needs nothing: the tests use librdkafka's in-process mock cluster (test.mock.num.brokers=3).
# Source this file, then call services_start; call services_stop to stop both and remove their temporary folders.
# Usage: source scripts/services.sh; services_start; ...; services_stop

_streamml_free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

_streamml_apt_install() {
  # Installs the Debian packages given as "command:package" pairs whose command is missing.
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || missing+=("${pair##*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "services: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "services: need root to apt-get install ${missing[*]}" >&2
    return 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

_streamml_pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] || { echo "services: PostgreSQL binaries not found" >&2; return 1; }
  echo "$dir"
}

_streamml_as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

services_start() {
  _streamml_apt_install mosquitto:mosquitto initdb:postgresql || return 1

  # MQTT: a broker with persistence off (each test run starts from nothing), loopback only.
  STREAMML_SERVICES_DIR=$(mktemp -d /tmp/streamml-services.XXXXXX)
  export STREAMML_SERVICES_DIR
  local mqtt_port mosquitto_bin
  mqtt_port=$(_streamml_free_port) || return 1
  mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
  cat >"$STREAMML_SERVICES_DIR/mosquitto.conf" <<CONF
listener $mqtt_port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 100000
max_inflight_messages 0
CONF
  chmod 755 "$STREAMML_SERVICES_DIR"
  "$mosquitto_bin" -c "$STREAMML_SERVICES_DIR/mosquitto.conf" >"$STREAMML_SERVICES_DIR/mosquitto.log" 2>&1 &
  echo $! >"$STREAMML_SERVICES_DIR/mosquitto.pid"
  local i
  for i in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$mqtt_port") 2>/dev/null && break
    sleep 0.1
  done
  export STREAMML_MQTT="127.0.0.1:$mqtt_port"

  # PostgreSQL: a throwaway cluster in a temporary folder owned by postgres (initdb refuses to run as root).
  local pg_bin pg_port pg_dir
  pg_bin=$(_streamml_pg_bin) || return 1
  pg_port=$(_streamml_free_port) || return 1
  pg_dir="$STREAMML_SERVICES_DIR/pg"
  mkdir -p "$pg_dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$pg_dir"; fi
  _streamml_as_postgres "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust >"$STREAMML_SERVICES_DIR/initdb.log" 2>&1 \
    || { cat "$STREAMML_SERVICES_DIR/initdb.log" >&2; return 1; }
  _streamml_as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -w -l "$pg_dir/server.log" \
    -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100" start >/dev/null \
    || { cat "$pg_dir/server.log" >&2; return 1; }
  export STREAMML_PG="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres"
  # The PostgreSQL restart test stops and starts the server through this control command.
  export STREAMML_PG_CTL="$pg_bin/pg_ctl -D $pg_dir/data"
  echo "services: mosquitto on $STREAMML_MQTT, PostgreSQL on 127.0.0.1:$pg_port" >&2
}

services_stop() {
  [ -n "${STREAMML_SERVICES_DIR:-}" ] && [ -d "$STREAMML_SERVICES_DIR" ] || return 0
  if [ -f "$STREAMML_SERVICES_DIR/mosquitto.pid" ]; then
    kill "$(cat "$STREAMML_SERVICES_DIR/mosquitto.pid")" 2>/dev/null || true
  fi
  if [ -d "$STREAMML_SERVICES_DIR/pg/data" ]; then
    local pg_bin
    pg_bin=$(_streamml_pg_bin) && _streamml_as_postgres "$pg_bin/pg_ctl" -D "$STREAMML_SERVICES_DIR/pg/data" -m fast stop >/dev/null 2>&1 || true
  fi
  rm -rf "$STREAMML_SERVICES_DIR"
  unset STREAMML_SERVICES_DIR STREAMML_MQTT STREAMML_PG STREAMML_PG_CTL
}
