#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the test suite, without systemd.
#
#   eval "$(bash .ci/postgres.sh | tail -1)"    # start (or reuse) it and export CLASSMOOD_TEST_PG_URL
#   bash .ci/postgres.sh stop                   # stop it and delete its data
#
# The server listens on 127.0.0.1 only, trusts every connection (it holds nothing but test databases) and runs with
# fsync off, because a crash only loses data the tests recreate anyway. It is idempotent: when something already
# answers on the port, it only prints the export line. Every message goes to stderr; stdout carries exactly one line,
# the export, so `tail -1` is enough. Override the port with CLASSMOOD_PG_PORT and the data folder with
# CLASSMOOD_PG_DATA; CLASSMOOD_PG_OPTS adds server options after ours (bench/school.py: more connections, fsync on).
set -euo pipefail

PORT="${CLASSMOOD_PG_PORT:-55432}"
HOST=127.0.0.1
DATA="${CLASSMOOD_PG_DATA:-/tmp/classmood-pg-${PORT}}"
SOCKETS="/tmp/classmood-pg-sock-${PORT}"
LOG="${DATA}.log"
URL="postgresql://postgres@${HOST}:${PORT}/postgres"

log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
    # The newest installed major version's binaries (Debian and Ubuntu keep them out of PATH).
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [[ -n "$dir" && -x "$dir/initdb" ]]; then
        echo "$dir"
    fi
}

BIN=$(find_bindir)
if [[ -z "$BIN" ]]; then
    log "initdb not found under /usr/lib/postgresql/*/bin: installing postgresql with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    BIN=$(find_bindir)
    if [[ -z "$BIN" ]]; then
        log "error: postgresql installed but initdb is still missing under /usr/lib/postgresql/*/bin"
        exit 1
    fi
fi

# PostgreSQL refuses to run as root: run its tools as the postgres user when we are root.
if [[ $(id -u) -eq 0 ]]; then
    if ! id -u postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
    AS_PG=(runuser -u postgres --)
    OWNER=postgres
else
    AS_PG=()
    OWNER=$(id -un)
fi

ready() { "$BIN/pg_isready" -q -h "$HOST" -p "$PORT" -U postgres -d postgres; }

if [[ "${1:-}" == "stop" ]]; then
    if [[ -f "$DATA/postmaster.pid" ]]; then
        "${AS_PG[@]}" "$BIN/pg_ctl" -D "$DATA" -s -m fast -w stop >&2 || true
    fi
    rm -rf "$DATA" "$SOCKETS" "$LOG" "${DATA}.initdb.log"
    log "stopped and removed $DATA"
    exit 0
fi

if ready; then
    log "already running on ${HOST}:${PORT}"
    echo "export CLASSMOOD_TEST_PG_URL=${URL}"
    exit 0
fi

mkdir -p "$SOCKETS"
chown "$OWNER" "$SOCKETS"
if [[ ! -f "$DATA/PG_VERSION" ]]; then
    rm -rf "$DATA"
    mkdir -p "$DATA"
    chown "$OWNER" "$DATA"
    chmod 700 "$DATA"
    log "initdb into $DATA"
    # initdb's page of chatter goes to a file, shown only if it fails: it has no place in the test output
    "${AS_PG[@]}" "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --no-locale \
        >"${DATA}.initdb.log" 2>&1 || { log "error: initdb failed"; tail -20 "${DATA}.initdb.log" >&2; exit 1; }
fi
touch "$LOG"
chown "$OWNER" "$LOG"

log "starting $("$BIN/postgres" --version) on ${HOST}:${PORT}"
"${AS_PG[@]}" "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -s -w -t 60 \
    -o "-c listen_addresses=${HOST} -p ${PORT} -k ${SOCKETS} -c fsync=off -c synchronous_commit=off -c full_page_writes=off ${CLASSMOOD_PG_OPTS:-}" \
    start >&2 || { log "error: pg_ctl start failed; server log follows"; tail -20 "$LOG" >&2; exit 1; }

for _ in $(seq 1 60); do
    if ready; then
        echo "export CLASSMOOD_TEST_PG_URL=${URL}"
        exit 0
    fi
    sleep 0.5
done
log "error: server did not accept connections within 30 s; server log follows"
tail -20 "$LOG" >&2
exit 1
