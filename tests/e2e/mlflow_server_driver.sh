#!/usr/bin/env bash
# Start a real `mlflow server` on loopback, run commands against it, stop it: all inside network
# and process namespaces of their own. tests/e2e/test_mlflow_server.py runs it as
#
#   unshare -n -p -f --mount-proc bash mlflow_server_driver.sh WORK PYTHON NAME...
#
# WORK is an empty folder; PYTHON the venv interpreter (`mlflow` is taken from beside it). Each NAME
# has a file WORK/NAME.args: a command line, one argument per line, run with MLFLOW_TRACKING_URI
# naming the server. In a network namespace whose only interface is loopback nothing outside can
# reach the server, and any port is free; in a process namespace of its own, whatever outlives the
# server dies with the namespace when this script, its first process, exits.
#
# What it leaves in WORK, for the test to check:
#   port                   the port the server listened on (127.0.0.1)
#   server.log server.up   the server's output; `yes` once it answered /health
#   server.db artifacts/   its backend store (SQLite) and the artifacts it was sent
#   NAME.out NAME.err NAME.rc   each command's stdout, stderr and exit code
#   server.rc              the server's exit status after SIGTERM to its process group
#   ps_after_stop.txt      every process left in the namespace after it, but this script (none)
set -uo pipefail

work=$1 python=$2
shift 2
mlflow=$(dirname "$python")/mlflow

ip link set lo up || { echo "mlflow_server_driver: cannot bring up lo" >&2; exit 3; }
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "$port" >"$work/port"

# One process group of its own (setsid), so that stopping it stops it and its uvicorn worker, nothing else.
# No job runner: its consumers are for MLflow's GenAI jobs and take seconds to start.
MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false setsid "$mlflow" server --host 127.0.0.1 --port "$port" --workers 1 \
    --backend-store-uri "sqlite:///$work/server.db" --artifacts-destination "$work/artifacts" >"$work/server.log" 2>&1 &
server=$!

"$python" - "http://127.0.0.1:$port/health" "$work/server.up" <<'PY'
import sys, time, urllib.request

deadline = time.monotonic() + 90
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
            if response.status == 200:
                open(sys.argv[2], "w").write("yes\n")
                break
    except OSError:
        time.sleep(0.2)
PY

if [ -f "$work/server.up" ]; then
  export MLFLOW_TRACKING_URI=http://127.0.0.1:$port
  for name in "$@"; do
    mapfile -t args <"$work/$name.args"
    "${args[@]}" >"$work/$name.out" 2>"$work/$name.err"
    echo $? >"$work/$name.rc"
  done
fi

kill -TERM -- "-$server"
wait "$server"
echo $? >"$work/server.rc"
# Every process left in the namespace but this script (its pid 1): the server's children take a moment to go.
"$python" "$(dirname "$0")/namespace_leftovers.py" "$work/ps_after_stop.txt" 10
