#!/usr/bin/env bash
# `make run` from a fresh clone until the sign-in page is served, then a rebuild after
# a one-line change (the same `make run` again).
#
#     benchmarks/make_run.sh            # a truly fresh clone: venv, pip, bun, frontend
#     REUSE_VENV=1 benchmarks/make_run.sh   # the clone borrows this checkout's .venv and
#                                           # tools/ (no network): the app's own cost
#
# Clones the committed HEAD of this checkout into a temporary folder, serves on a free
# port, and removes everything afterwards. Prints a table and writes
# benchmarks/results/make-run-<time>.json. Network: pip and npm registries (cold mode).
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d /tmp/carespace-make-run-XXXXXX)"
PORT="${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
TIMEOUT="${TIMEOUT:-1800}"
SERVER_PID=""

cleanup() {
  if [ -n "$SERVER_PID" ]; then kill -TERM -- "-$SERVER_PID" 2>/dev/null || true; sleep 2; kill -KILL -- "-$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

serve_and_time() {  # $1: label. Starts `make run`, waits for the sign-in page, stops it.
  local began now
  began=$(date +%s.%N)
  ( cd "$WORK/clone" && exec setsid make run PORT="$PORT" >"$WORK/$1.log" 2>&1 ) &
  SERVER_PID=$!
  sleep 1
  SERVER_PID=$(ps -o pgid= -p "$SERVER_PID" 2>/dev/null | tr -d ' ' || echo "$SERVER_PID")
  while true; do
    if curl -fsS -o /dev/null "http://localhost:$PORT/ping" 2>/dev/null \
       && curl -fsS "http://localhost:$PORT/" 2>/dev/null | grep -q "<html"; then
      break
    fi
    now=$(date +%s.%N)
    if (( $(echo "$now - $began > $TIMEOUT" | bc) )); then
      echo "make run did not serve within ${TIMEOUT}s; log: " >&2; tail -30 "$WORK/$1.log" >&2; exit 1
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "make run exited; log:" >&2; tail -30 "$WORK/$1.log" >&2; exit 1
    fi
    sleep 0.5
  done
  now=$(date +%s.%N)
  echo "$now - $began" | bc
  kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 40); do kill -0 -- "-$SERVER_PID" 2>/dev/null || break; sleep 0.5; done
  kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

git clone --quiet "$HERE" "$WORK/clone"
MODE="fresh clone (venv, pip, bun, frontend from scratch)"
if [ "${REUSE_VENV:-0}" = 1 ]; then
  MODE="fresh clone, this checkout's .venv and tools/ borrowed"
  ln -s "$(readlink -f "$HERE/.venv")" "$WORK/clone/.venv"
  cp -a "$HERE/tools/bin" "$WORK/clone/tools/"  # bun: a link into this checkout's tools/
  # Older than the borrowed venv's stamps, so make installs nothing into it.
  touch -d 2000-01-01 "$WORK/clone/requirements.txt" "$WORK/clone/requirements-test.txt" \
    "$WORK/clone/tools/package.json" "$WORK/clone/tools/package-lock.json"
fi
export CARESPACE_SECRET_KEY="${CARESPACE_SECRET_KEY:-make-run-benchmark}"

first=$(serve_and_time first)
# The one-line change: a sentence of the Help page.
sed -i '0,/"Help"/s//"Help "/' "$WORK/clone/carespace_app/pages/help.py"
git -C "$WORK/clone" diff --stat | tail -1 >&2
rebuild=$(serve_and_time rebuild)

printf '\nMAKE RUN (%s; port %s)\n' "$MODE" "$PORT"
printf '  %-44s %8.1f s\n' "fresh clone -> sign-in page served" "$first"
printf '  %-44s %8.1f s\n' "one-line change -> served again" "$rebuild"
mkdir -p "$HERE/benchmarks/results"
out="$HERE/benchmarks/results/make-run-$(date +%Y%m%d-%H%M%S).json"
printf '{"mode": "%s", "fresh_clone_to_serving_s": %s, "rebuild_after_one_line_s": %s, "cpus": %s, "load_avg": "%s"}\n' \
  "$MODE" "$first" "$rebuild" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" > "$out"
echo "written: $out"
