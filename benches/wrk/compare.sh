#!/usr/bin/env bash
# GetItem/PutItem throughput and latency on loopback with wrk, Dynacore beside
# a peer in the same run, alternating rounds; prints every round.
#   benches/wrk/compare.sh [peer_port=8004] [rounds=3] [seconds=5]
# Server pinned to CPU 0 with one shard, wrk on CPU 1, 16 connections.
# Start peers first: PEERS_DIR=$PWD/target/peers ../shared/peers/peers.sh start dynoxide
# Needs: wrk (apt-get install wrk), python3, target/release/dynacore.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=benches/wrk
peer=${1:-8004}; rounds=${2:-3}; secs=${3:-5}
port=8010; data=target/wrk-bench-data
rm -rf "$data"
taskset -c 0 target/release/dynacore serve --admin-listen off --shards 1 --data-dir "$data" --listen 127.0.0.1:$port 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:$port/ && break; sleep 0.1; done
python3 $here/setup.py $port >/dev/null
python3 $here/setup.py "$peer" >/dev/null
for r in $(seq 1 "$rounds"); do
  for op in get put; do
    for p in $port "$peer"; do
      out=$(taskset -c 1 wrk -t1 -c16 -d"${secs}"s --latency -s $here/$op.lua http://127.0.0.1:$p/)
      rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
      p50=$(echo "$out" | awk '$1=="50%" {print $2}')
      p99=$(echo "$out" | awk '$1=="99%" {print $2}')
      echo "round=$r op=$op port=$p rps=$rps p50=$p50 p99=$p99"
    done
  done
done
echo "RSS of dynacore after the run: $(grep VmRSS /proc/$server/status | awk '{print $2, $3}')"
