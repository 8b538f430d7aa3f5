# A throwaway PostgreSQL server for the test suite and the benchmark: sourced by
# scripts/test.sh and bench/run.sh, which call `start_postgres fast|durable` and read PG_URL.
#
# The server: PostgreSQL's own binaries (from PATH or /usr/lib/postgresql/*/bin; as root and
# with none found, `apt-get install postgresql`), run as `postgres` (or `nobody`) when this
# script runs as root, since PostgreSQL refuses to run as root. It lives in a temporary
# directory removed on exit, listens only on a Unix socket there (no TCP port to collide
# with), and trusts local connections.

PG_DIR=""
PG_BIN=""
PG_OWNER=""

# A directory holding initdb, pg_ctl, postgres and createdb, newest version first.
find_postgres() {
    local candidates=() dir
    if command -v pg_ctl >/dev/null 2>&1; then
        candidates+=("$(dirname "$(readlink -f "$(command -v pg_ctl)")")")
    fi
    while IFS= read -r dir; do
        candidates+=("$dir")
    done < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r)
    for dir in "${candidates[@]}"; do
        if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres && -x $dir/createdb ]]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

# Runs a command as the server's owner.
as_owner() {
    if [[ -z $PG_OWNER ]]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u "$PG_OWNER" -- "$@"
    else
        su -s /bin/sh "$PG_OWNER" -c "$(printf '%q ' "$@")"
    fi
}

stop_postgres() {
    if [[ -n $PG_DIR ]]; then
        as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
    fi
}

# Starts the server and sets PG_URL to a fresh database `sluice` on it. `$1` is `fast` (fsync
# off: for tests, whose data is thrown away) or `durable` (fsync on: for the benchmark, whose
# commits must cost what they cost in production).
start_postgres() {
    local fsync_flag=""
    [[ ${1:-fast} == fast ]] && fsync_flag="-F"
    if ! PG_BIN=$(find_postgres); then
        if [[ $(id -u) -ne 0 ]]; then
            echo "$(basename "$0"): no PostgreSQL server (initdb, pg_ctl) found; install PostgreSQL," \
                "or set SLUICE_TEST_POSTGRES to a database the tests may use" >&2
            exit 1
        fi
        echo "$(basename "$0"): installing PostgreSQL" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        PG_BIN=$(find_postgres)
    fi

    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sluice-pg.XXXXXX")
    trap stop_postgres EXIT
    trap 'exit 130' INT TERM
    if [[ $(id -u) -eq 0 ]]; then
        PG_OWNER=postgres
        id -u postgres >/dev/null 2>&1 || PG_OWNER=nobody
        chown "$PG_OWNER" "$PG_DIR"
    fi

    if ! as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --no-locale \
        >"$PG_DIR/initdb.log" 2>&1; then
        cat "$PG_DIR/initdb.log" >&2
        exit 1
    fi
    if ! as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-k $PG_DIR -c listen_addresses='' -c max_connections=300 $fsync_flag" start >/dev/null; then
        cat "$PG_DIR/server.log" >&2
        exit 1
    fi
    "$PG_BIN/createdb" -h "$PG_DIR" -U postgres sluice
    PG_URL="postgres://postgres@localhost/sluice?host=$PG_DIR"
    echo "$(basename "$0"): $("$PG_BIN/postgres" --version) on $PG_DIR" >&2
}
