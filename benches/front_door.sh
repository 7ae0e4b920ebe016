#!/usr/bin/env bash
# Front door under adversarial connection patterns: server RSS idle, with
# 1,024 idle connections, with 64 connections pipelining 1 MB Scans that
# they never read, with 1,000 slow-loris connections; GetItem throughput
# (YCSB-C, bundled load generator) with and without 1,000 slow-loris
# connections open. Release build first: cargo build --release --workspace.
#
#   benches/front_door.sh [SECONDS] [SHARDS]      # defaults: 10 s, 2 shards
#
# Figures go to stdout; on a shared machine compare the two throughput runs
# of one invocation only (ratio from one run).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}; shards=${2:-2}
ulimit -n 65536 2>/dev/null || true
server=target/release/dynacore; lg=target/release/dynacore-loadgen
port=8030; data=target/front-door-data
rm -rf "$data"
$server serve --admin-listen off --shards "$shards" --data-dir "$data" --listen 127.0.0.1:$port 2>target/front-door.log &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do curl -sf -o /dev/null http://127.0.0.1:$port/dynacore/health && break; sleep 0.1; done
echo "RSS idle: $(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$pid/status)"
python3 benches/front_door.py $port $pid idle 1024
python3 benches/front_door.py $port $pid scans 64
LORIS_SECS=15 python3 benches/front_door.py $port $pid loris 1000
ycsb() { # label [extra loadgen flags]
  local label=$1; shift
  $lg run --endpoint http://127.0.0.1:$port --workload ycsb-c --record-count 10000 \
    --duration "$secs" --warmup 2 --connections 16 --quiet --label "$label" \
    --json "target/front-door-$label.json" "$@" >/dev/null 2>"target/front-door-$label.err"
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{sys.argv[2]}: {r['throughput_ops_per_s']:,.0f} GetItem/s\")" \
    "target/front-door-$label.json" "$label" 2>/dev/null || tail -3 "target/front-door-$label.err"
}
ycsb baseline
LORIS_SECS=$((secs + 8)) python3 benches/front_door.py $port $pid loris 1000 &
loris=$!
sleep 3
ycsb with-1000-slowloris --skip-load
wait $loris
echo "RSS at the end: $(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$pid/status)"
