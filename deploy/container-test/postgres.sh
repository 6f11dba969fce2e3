#!/bin/sh
# PostgreSQL 15 from Debian in a throw-away data folder; user streamml, password from POSTGRES_PASSWORD.
set -eu
data=/var/lib/postgresql/data
mkdir -p "$data" /var/run/postgresql
chown postgres:postgres "$data" /var/run/postgresql
printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/pwfile && chown postgres /tmp/pwfile
setpriv --reuid postgres --regid postgres --clear-groups /usr/lib/postgresql/15/bin/initdb -D "$data" -U streamml \
  --pwfile=/tmp/pwfile -A scram-sha-256 >/dev/null
rm /tmp/pwfile
echo "host all all 0.0.0.0/0 scram-sha-256" >> "$data/pg_hba.conf"
exec setpriv --reuid postgres --regid postgres --clear-groups /usr/lib/postgresql/15/bin/postgres -D "$data" \
  -c listen_addresses='*' -c fsync=off
