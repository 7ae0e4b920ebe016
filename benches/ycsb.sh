#!/usr/bin/env bash
# The README's YCSB table, in one run: YCSB A, B, C through the bundled load
# generator against Dynacore (1 and 2 shards, shard-aware and not) and
# against the peers that are running (DynamoDB Local 8003, dynalite 8001,
# dynoxide 8004; start them with ../shared/peers/peers.sh start <name>).
#   benches/ycsb.sh [seconds=8] [records=20000]
# One-shard Dynacore is pinned to CPU 0 like the peers; the load generator
# runs on CPU 1. Two-shard Dynacore uses both CPUs (and shares CPU 1 with the
# load generator). Reports go to target/ycsb/*.json; the table to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}; records=${2:-20000}
lg=target/release/dynacore-loadgen; server=target/release/dynacore
out=target/ycsb; rm -rf "$out"; mkdir -p "$out"
run() { # label endpoint workload [extra loadgen flags]
  local label=$1 endpoint=$2 workload=$3; shift 3
  $lg run --endpoint "$endpoint" --workload "$workload" --record-count "$records" \
    --duration "$secs" --warmup 2 --connections 16 --cpu-offset 1 --quiet \
    --label "$label" --json "$out/$label-$workload.json" "$@" >/dev/null 2>"$out/$label-$workload.err" \
    || echo "run $label $workload failed: $(tail -1 "$out/$label-$workload.err")" >&2
}
dynacore() { # label shards cpus [extra loadgen flags]
  local label=$1 shards=$2 cpus=$3; shift 3
  local data=target/ycsb-data-$label
  rm -rf "$data"
  taskset -c "$cpus" $server serve --admin-listen off --shards "$shards" --data-dir "$data" --listen 127.0.0.1:8010 \
    --shard-port-base 8020 2>/dev/null &
  local pid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:8010/ && break; sleep 0.1; done
  for w in ycsb-a ycsb-b ycsb-c; do run "$label" http://127.0.0.1:8010 $w "$@"; done
  echo "$label RSS after runs: $(grep VmRSS /proc/$pid/status | awk '{print $2, $3}')" >&2
  kill $pid; wait $pid 2>/dev/null || true
  sleep 1
}
dynacore dynacore-1shard 1 0
dynacore dynacore-2shard 2 0,1
dynacore dynacore-2shard-aware 2 0,1 --shard-aware
for peer in ddblocal:8003 dynalite:8001 dynoxide:8004; do
  name=${peer%%:*}; port=${peer##*:}
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
    for w in ycsb-a ycsb-b ycsb-c; do run "$name" "http://127.0.0.1:$port" $w; done
  else
    echo "$name not running on $port; skipped" >&2
  fi
done
python3 - "$out" <<'PY'
import json, sys, glob, os
rows = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    d = json.load(open(f))
    a = d["all"]
    rows.setdefault(d["label"], {})[d["workload"]] = (d["throughput_ops_per_s"], a["p50_us"], a["p99_us"], a["p999_us"], d["errors"])
print("| target | workload | ops/s | p50 ms | p99 ms | p99.9 ms | errors |")
print("|---|---|---:|---:|---:|---:|---:|")
for label, ws in rows.items():
    for w, (t, p50, p99, p999, e) in sorted(ws.items()):
        print(f"| {label} | {w} | {t:,.0f} | {p50/1000:.2f} | {p99/1000:.2f} | {p999/1000:.2f} | {e} |")
PY
