# Sourced by CI scripts that need a running server with demo data (.ci/fuzz, .ci/clients/run).
#
# `demo_server_start NAME` creates a database of its own on CI's PostgreSQL server, starts
# `blink-api serve --migrate` with demo data on a free 127.0.0.1 port, waits until it is ready and
# sets DEMO_BASE (the server's URL), DEMO_WORK (a scratch directory) and DEMO_LOG (the server's log).
# It installs an EXIT trap that stops the server and removes the database and the scratch directory.
# Expects to run from the checkout's root with `make install` done.

demo_server_url="${CI_DATABASE_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test}"
demo_server_pid=""
demo_server_database=""
DEMO_WORK=""

# Creates or drops a database through the server's maintenance connection.
demo_server_ddl() {
    .venv/bin/python - "$demo_server_url" "$1" <<'PY'
import asyncio, sys
import asyncpg

async def main(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()

asyncio.run(main(*sys.argv[1:]))
PY
}

demo_server_stop() {
    if [ -n "$demo_server_pid" ]; then
        kill "$demo_server_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$demo_server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$demo_server_pid" 2>/dev/null || true
        demo_server_pid=""
    fi
    if [ -n "$demo_server_database" ]; then
        demo_server_ddl "DROP DATABASE IF EXISTS $demo_server_database WITH (FORCE)" || true
        demo_server_database=""
    fi
    [ -n "$DEMO_WORK" ] && rm -rf "$DEMO_WORK"
    DEMO_WORK=""
}

demo_server_start() {
    local name="$1" port
    port="${DEMO_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
    DEMO_BASE="http://127.0.0.1:$port"
    DEMO_WORK=$(mktemp -d -t "blink-$name-XXXXXX")
    DEMO_LOG="$DEMO_WORK/server.log"
    trap demo_server_stop EXIT
    demo_server_database="blink_${name}_$$"
    demo_server_ddl "CREATE DATABASE $demo_server_database"
    DATABASE_URL="${demo_server_url%/*}/$demo_server_database" BLINK_DEMO_DATA=true BLINK_EMBEDDED_WORKER=true \
        BLINK_DATA_DIR="$DEMO_WORK/data" HOST=127.0.0.1 PORT="$port" BLINK_LOG_JSON=true LOG_LEVEL=WARNING \
        .venv/bin/blink-api serve --migrate >"$DEMO_LOG" 2>&1 &
    demo_server_pid=$!
    for _ in $(seq 1 300); do
        curl -sf "$DEMO_BASE/health/ready" >/dev/null 2>&1 && return 0
        kill -0 "$demo_server_pid" 2>/dev/null || { cat "$DEMO_LOG" >&2; return 1; }
        sleep 0.2
    done
    echo "the server did not get ready within a minute" >&2
    cat "$DEMO_LOG" >&2
    return 1
}

# Fails (listing them) when the server logged errors.
demo_server_check_log() {
    if grep -q '"level": "ERROR"' "$DEMO_LOG"; then
        echo "The server logged errors during the run:" >&2
        grep '"level": "ERROR"' "$DEMO_LOG" | head -20 >&2
        return 1
    fi
}
