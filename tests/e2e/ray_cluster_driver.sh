#!/usr/bin/env bash
# Start a real Ray head, run gailctl commands against it with --address, stop it: all inside
# network and process namespaces of their own. tests/e2e/test_ray_cluster.py runs it as
#
#   unshare -n -p -f --mount-proc bash ray_cluster_driver.sh WORK PYTHON PORT NAME...
#
# WORK is a short empty folder (Ray's socket paths must stay under 107 bytes). PYTHON is the venv
# interpreter that runs gailctl; `ray` is taken from beside it. Each NAME has a file WORK/NAME.args:
# gailctl's arguments, one per line, where `@ADDR@` stands for the head's address. HEAD_CPUS
# (default 2) sets the head's CPUs; WORKER_CPUS, when set, starts a worker node with that many.
#
# Why namespaces: Ray advertises the machine's network address even when told
# --node-ip-address=127.0.0.1. In a network namespace whose only interface is loopback it has
# nothing but 127.0.0.1, so no traffic can reach another address. In a process namespace of its
# own, `ray stop` sees only this head, and anything that outlives it dies with the namespace when
# this script, its first process, exits.
#
# What it leaves in WORK, for the test to check:
#   ray/                   the head's --temp-dir; ray/session_latest/logs is Ray's own record of
#                          every driver (python-core-driver-JOB_PID.log) and worker
#                          (worker-ID-JOB-PID.out/.err, with what the trial printed)
#   auth_token             the cluster's token (RAY_AUTH_TOKEN_PATH), so ~/.ray is not touched
#   links.txt              the namespace's network interfaces
#   head.log head.rc       `ray start`'s output and exit code (worker.log worker.rc: the worker node's)
#   NAME.out NAME.err NAME.rc NAME.pid   each command's stdout, stderr, exit code and process id
#   nodes.json             the cluster's nodes as Ray lists them after the commands (ray.nodes());
#                          with EXPECT_DEAD_NODES=N, once N nodes are dead (or after 120 s)
#   ps_before_stop.txt     the namespace's processes before `ray stop`; stop.log, stop.rc its output
#   ps_after_stop.txt      every process left in the namespace after it, but this script (none)
set -uo pipefail

work=$1 python=$2 port=$3
shift 3
ray=$(dirname "$python")/ray
address=127.0.0.1:$port

ip link set lo up || { echo "ray_cluster_driver: cannot bring up lo" >&2; exit 3; }
ip -o link >"$work/links.txt"

# Token authentication is on by default in Ray 2.60's `ray start`: our own token, kept in WORK.
export RAY_AUTH_MODE=token
export RAY_AUTH_TOKEN_PATH=$work/auth_token
"$python" -c 'import secrets, sys; open(sys.argv[1], "w").write(secrets.token_hex(32))' "$RAY_AUTH_TOKEN_PATH"
export RAY_USAGE_STATS_ENABLED=0

"$ray" start --head --node-ip-address=127.0.0.1 --port="$port" --temp-dir="$work/ray" --num-cpus="${HEAD_CPUS:-2}" \
    --include-dashboard=false --disable-usage-stats >"$work/head.log" 2>&1
echo $? >"$work/head.rc"
# With WORKER_CPUS set, a second node joins the head (its raylet's socket is sockets/raylet.1).
if [ -n "${WORKER_CPUS:-}" ] && [ "$(cat "$work/head.rc")" = 0 ]; then
  "$ray" start --address="$address" --node-ip-address=127.0.0.1 --num-cpus="$WORKER_CPUS" --disable-usage-stats \
      >"$work/worker.log" 2>&1
  echo $? >"$work/worker.rc"
fi

if [ "$(cat "$work/head.rc")" = 0 ]; then
  for name in "$@"; do
    mapfile -t args <"$work/$name.args"
    args=("${args[@]//@ADDR@/$address}")
    "$python" -m gailctl "${args[@]}" >"$work/$name.out" 2>"$work/$name.err" &
    echo $! >"$work/$name.pid"
    wait $!
    echo $? >"$work/$name.rc"
  done
  "$python" - "$address" "$work/nodes.json" >"$work/nodes.log" 2>&1 <<'EOF'
import json, sys
import ray

import os, time

ray.init(address=sys.argv[1], log_to_driver=False)
# A node whose raylet was killed stays Alive in Ray's table until the head's health checks give
# up on it (seconds to tens of seconds): with EXPECT_DEAD_NODES, wait up to 120 s for that many.
expect_dead, deadline = int(os.environ.get("EXPECT_DEAD_NODES", "0")), time.monotonic() + 120
while sum(not n["Alive"] for n in ray.nodes()) < expect_dead and time.monotonic() < deadline:
    time.sleep(1)
with open(sys.argv[2], "w") as fh:
    json.dump([{k: n[k] for k in ("NodeID", "NodeManagerAddress", "Alive")} for n in ray.nodes()], fh)
ray.shutdown()
EOF
fi

ps -ww -eo pid,args >"$work/ps_before_stop.txt"  # -ww: whole command lines, whatever COLUMNS says
"$ray" stop >"$work/stop.log" 2>&1
echo $? >"$work/stop.rc"
# Every process left in the namespace but this script (its pid 1). `ray stop` waits for what it
# signalled, but a worker may take a moment to go: look for up to 10 s.
"$python" "$(dirname "$0")/namespace_leftovers.py" "$work/ps_after_stop.txt" 10
