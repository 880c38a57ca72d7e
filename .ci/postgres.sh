#!/usr/bin/env bash
# PostgreSQL for the audit store tests, from Debian's packages.
#
# Installs `postgresql` if no server binaries are present, runs a throwaway cluster on 127.0.0.1:5432 (data in
# $AUDIT_PG_DATA, default /var/tmp/backup-gateway-pg; Debian's own `main` cluster is left alone), creates the role
# and database `gateway_test`, and prints the one line the tests read:
#
#   export AUDIT_TEST_POSTGRES_URL=postgres://gateway_test:...@127.0.0.1:5432/gateway_test
#
# Usage: eval "$(.ci/postgres.sh)" && npm test -- test/pure/audit test/app/audit
#        bash .ci/postgres.sh --stop    stops the server this script started (CI leaves the machine as it found it)
# When it started the server itself it also prints `export AUDIT_PG_STARTED=1`.
# Idempotent: when a server already answers on the port it is reused and only the role and database are ensured.
# Needs root (or sudo) for apt-get and to run the server as the `postgres` user. Progress goes to stderr.
set -euo pipefail

HOST=127.0.0.1
PORT="${AUDIT_PG_PORT:-5432}"
DATA_DIR="${AUDIT_PG_DATA:-/var/tmp/backup-gateway-pg}"
SOCKET_DIR=/var/run/postgresql
DATABASE=gateway_test
ROLE=gateway_test
PASSWORD="${AUDIT_PG_PASSWORD:-gateway_test_only}"

log() { echo "postgres.sh: $*" >&2; }

if [[ ! "$PASSWORD" =~ ^[A-Za-z0-9_.-]+$ ]]; then
  log "AUDIT_PG_PASSWORD may only contain [A-Za-z0-9_.-] (it goes into SQL and a URL unquoted)"
  exit 2
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres -- "$@"; fi; }
server_bin() { find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1; }

# The postgres user cannot read every working directory; psql and pg_ctl complain about it.
cd /

BIN="$(server_bin)"
if [ "${1:-}" = "--stop" ]; then
  if [ -n "$BIN" ] && [ -s "$DATA_DIR/postmaster.pid" ]; then
    log "stopping the server in $DATA_DIR"
    as_postgres "$BIN/pg_ctl" -D "$DATA_DIR" -m fast -w stop >&2
  fi
  exit 0
fi
if [ -z "$BIN" ] || [ ! -x "$BIN/pg_ctl" ]; then
  log "installing postgresql from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq >&2
  as_root apt-get install -y -qq postgresql >&2
  BIN="$(server_bin)"
fi
if [ -z "$BIN" ]; then
  log "postgresql is installed but no server binaries were found under /usr/lib/postgresql"
  exit 1
fi

as_root mkdir -p "$SOCKET_DIR"
as_root chown postgres:postgres "$SOCKET_DIR"

STARTED=0
if as_postgres "$BIN/pg_isready" -q -h "$HOST" -p "$PORT"; then
  log "a server already answers on $HOST:$PORT; reusing it"
else
  STARTED=1
  if [ ! -s "$DATA_DIR/PG_VERSION" ]; then
    log "initialising a cluster in $DATA_DIR"
    as_root mkdir -p "$DATA_DIR"
    as_root chown postgres:postgres "$DATA_DIR"
    as_root chmod 700 "$DATA_DIR"
    as_postgres "$BIN/initdb" -D "$DATA_DIR" -U postgres -E UTF8 --no-locale \
      --auth-local=peer --auth-host=scram-sha-256 >&2
  fi
  log "starting the server on $HOST:$PORT"
  as_postgres "$BIN/pg_ctl" -D "$DATA_DIR" -l "$DATA_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=$HOST -p $PORT -c unix_socket_directories=$SOCKET_DIR" start >&2 || {
    log "the server did not start; last lines of $DATA_DIR/server.log:"
    tail -n 20 "$DATA_DIR/server.log" >&2 || true
    exit 1
  }
fi

# Superuser over the local socket (peer authentication as the postgres user).
psql_admin() { as_postgres "$BIN/psql" -h "$SOCKET_DIR" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" = "1" ]; then
  psql_admin -c "ALTER ROLE $ROLE LOGIN PASSWORD '$PASSWORD'" >&2
else
  log "creating role $ROLE"
  psql_admin -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'" >&2
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != "1" ]; then
  log "creating database $DATABASE"
  psql_admin -c "CREATE DATABASE $DATABASE OWNER $ROLE" >&2
fi

URL="postgres://$ROLE:$PASSWORD@$HOST:$PORT/$DATABASE"
# Prove the URL works the way the tests will use it: TCP, password authentication.
if ! PGPASSWORD="$PASSWORD" as_postgres "$BIN/psql" "$URL" -v ON_ERROR_STOP=1 -qAt -c 'SELECT 1' >/dev/null; then
  log "cannot log in as $ROLE over TCP at $HOST:$PORT (does the running server allow password logins from $HOST?)"
  exit 1
fi
log "ready"
echo "export AUDIT_TEST_POSTGRES_URL=$URL"
if [ "$STARTED" = 1 ]; then echo "export AUDIT_PG_STARTED=1"; fi
