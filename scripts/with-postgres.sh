#!/usr/bin/env bash
# Run a command with a private, throw-away PostgreSQL server on 127.0.0.1.
#
#   scripts/with-postgres.sh COMMAND [ARG...]
#
# Starts a fresh cluster in a temporary directory on a free loopback port, creates
# the database `kobling_test`, exports
#   KOBLING_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:PORT/kobling_test
# and KOBLING_TEST_PG_RESTART (a script that restarts the server),
# runs COMMAND, then stops the server and removes the directory (also on failure
# and Ctrl-C). COMMAND's exit status is passed through unchanged.
#
# If the server binaries are missing they are installed with apt-get (needs root).
# If that is impossible, COMMAND runs without PostgreSQL (the PostgreSQL variants of
# the tests then skip with a reason), unless KOBLING_REQUIRE_POSTGRES=1, which makes
# it an error. If KOBLING_TEST_DATABASE_URL is already set, that server is used
# as it is and nothing is started.
#
# KOBLING_PG_ROOT (default /usr/lib/postgresql) is where the versioned server
# directories are looked for.
set -euo pipefail

prog=with-postgres
pg_root=${KOBLING_PG_ROOT:-/usr/lib/postgresql}
preferred_version=15

say() { printf '%s: %s\n' "$prog" "$*" >&2; }

if [[ $# -eq 0 ]]; then
    say "usage: $0 COMMAND [ARG...]"
    exit 2
fi

if [[ -n "${KOBLING_TEST_DATABASE_URL:-}" ]]; then
    say "using the PostgreSQL already given in KOBLING_TEST_DATABASE_URL"
    exec "$@"
fi

# --- find (or install) the server binaries -----------------------------------

find_bindir() {
    if [[ -x "$pg_root/$preferred_version/bin/initdb" ]]; then
        printf '%s\n' "$pg_root/$preferred_version/bin"
        return 0
    fi
    local newest=""
    newest=$(
        for f in "$pg_root"/*/bin/initdb; do
            [[ -x "$f" ]] && basename "$(dirname "$(dirname "$f")")"
        done | sort -V | tail -n 1
    ) || true
    if [[ -n "$newest" ]]; then
        printf '%s\n' "$pg_root/$newest/bin"
        return 0
    fi
    # Not a Debian layout (e.g. a distribution that puts initdb on PATH).
    local initdb dir
    if initdb=$(command -v initdb); then
        dir=$(dirname "$(readlink -f "$initdb")")
        if [[ -x "$dir/pg_ctl" && -x "$dir/postgres" ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    fi
    return 1
}

without_postgres() {
    # $1: why PostgreSQL is unavailable; the rest: the command.
    local why=$1
    shift
    if [[ "${KOBLING_REQUIRE_POSTGRES:-}" == 1 ]]; then
        say "ERROR: $why; KOBLING_REQUIRE_POSTGRES=1, so not running without it."
        exit 1
    fi
    say "WARNING: $why; running WITHOUT PostgreSQL (its test variants will be skipped)."
    exec "$@"
}

install_postgres() {
    # Returns non-zero (after explaining why) when the server cannot be installed.
    if [[ $EUID -ne 0 ]]; then
        say "PostgreSQL server not found and not running as root, so cannot apt-get install it"
        return 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        say "PostgreSQL server not found and there is no apt-get to install it with"
        return 1
    fi
    say "PostgreSQL server not found; installing it with apt-get (once per machine)..."
    local aptlog
    aptlog=$(mktemp)
    if apt-get update -qq >"$aptlog" 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >>"$aptlog" 2>&1; then
        rm -f "$aptlog"
        return 0
    fi
    say "apt-get could not install postgresql; its last lines:"
    tail -n 20 "$aptlog" >&2
    rm -f "$aptlog"
    return 1
}

if ! bindir=$(find_bindir); then
    if ! install_postgres || ! bindir=$(find_bindir); then
        without_postgres "PostgreSQL server binaries are not available" "$@"
    fi
fi

# --- set up the cluster --------------------------------------------------------

tmpdir=""
datadir=""
cleaned=0

# shellcheck disable=SC2317  # only reached through the trap below
cleanup() {
    local status=$?
    set +e
    if [[ $cleaned -eq 1 ]]; then
        return "$status"
    fi
    cleaned=1
    if [[ -n "$datadir" && -f "$datadir/postmaster.pid" ]]; then
        as_pg "$bindir/pg_ctl" -D "$datadir" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            as_pg "$bindir/pg_ctl" -D "$datadir" -m immediate -w -t 30 stop >/dev/null 2>&1
    fi
    if [[ -n "$tmpdir" ]]; then
        rm -rf -- "$tmpdir"
    fi
    return "$status"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# PostgreSQL refuses to run as root: as root, run it as the `postgres` user.
if [[ $EUID -eq 0 ]]; then
    PATH="$PATH:/usr/sbin:/sbin" # runuser and useradd live there
    if ! id -u postgres >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home --home-dir /var/lib/postgresql \
            --shell /bin/bash postgres
    fi
    # The subshell's cd keeps PostgreSQL from complaining about an unreadable cwd.
    as_pg() { (cd "$tmpdir" && runuser -u postgres -- "$@"); }
else
    as_pg() { (cd "$tmpdir" && "$@"); }
fi

tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/kobling-pg.XXXXXX")
if [[ $EUID -eq 0 ]]; then
    chown postgres: "$tmpdir"
    if ! runuser -u postgres -- test -w "$tmpdir" 2>/dev/null; then
        # e.g. TMPDIR under /root, which `postgres` cannot enter.
        rm -rf -- "$tmpdir"
        tmpdir=$(mktemp -d /tmp/kobling-pg.XXXXXX)
        chown postgres: "$tmpdir"
    fi
fi
datadir="$tmpdir/data"
logfile="$tmpdir/postgres.log"

if ! as_pg "$bindir/initdb" -D "$datadir" --auth=trust --username=postgres -E UTF8 \
    --locale=C --no-sync >"$tmpdir/initdb.log" 2>&1; then
    say "initdb failed:"
    tail -n 30 "$tmpdir/initdb.log" >&2
    exit 1
fi

free_port() {
    local py
    py=$(command -v python3 || command -v python) || {
        say "need python3 to pick a free port"
        return 1
    }
    "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

started=0
for _attempt in 1 2 3; do
    port=$(free_port)
    rm -f -- "$logfile"
    # pg_ctl hands -o to /bin/sh, hence the inner quotes around the socket directory.
    if as_pg "$bindir/pg_ctl" -D "$datadir" -l "$logfile" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k '$tmpdir' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null 2>&1; then
        started=1
        break
    fi
    # Somebody took the port between picking it and binding it: try another one.
    grep -q 'could not bind\|Address already in use' "$logfile" 2>/dev/null || break
done
if [[ $started -ne 1 ]]; then
    say "PostgreSQL did not start; the end of its log:"
    tail -n 30 "$logfile" >&2 2>/dev/null || true
    exit 1
fi

createdb=$bindir/createdb
[[ -x "$createdb" ]] || createdb=createdb
if ! createdb_out=$("$createdb" -h 127.0.0.1 -p "$port" -U postgres kobling_test 2>&1); then
    say "could not create database kobling_test: $createdb_out"
    exit 1
fi

version=$("$bindir/postgres" --version 2>/dev/null | awk '{print $3}') || version=""
say "PostgreSQL ${version:-server} on 127.0.0.1:$port (in $tmpdir, removed on exit)"

# --- run the command ---------------------------------------------------------

export KOBLING_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$port/kobling_test"

# A script that restarts this server (same port and options), for the chaos run.
restart="$tmpdir/restart.sh"
if [[ $EUID -eq 0 ]]; then runner="runuser -u postgres --"; else runner=""; fi
cat >"$restart" <<EOS
#!/usr/bin/env bash
set -euo pipefail
cd "$tmpdir"
$runner "$bindir/pg_ctl" -D "$datadir" -l "$logfile" -m fast -w -t 60 restart >/dev/null
EOS
chmod +x "$restart"
export KOBLING_TEST_PG_RESTART="$restart"
status=0
"$@" || status=$?
exit "$status"
