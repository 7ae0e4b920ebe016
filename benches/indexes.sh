#!/usr/bin/env bash
# Secondary index costs, in one run against one Dynacore process:
#  1. durable PutItem throughput and p99 (closed loop, bundled load
#     generator) on tables with 0, 1 and 5 GSIs (ALL projection, keyed on
#     the loadgen's field0..field4);
#  2. GSI replication lag (base write applied → index entry durable on its
#     shard) p50/p99/max under a steady open-loop write load, from
#     /dynacore/metrics;
#  3. backfill rate: UpdateTable adds a GSI to a loaded table; time until
#     ACTIVE, and the shards' own items/s.
#   benches/indexes.sh [seconds=6] [shards=2] [backfill_records=50000]
# Build first: cargo build --release --workspace. Output: target/indexes/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-6}; shards=${2:-2}; records=${3:-50000}
lg=target/release/dynacore-loadgen; server=target/release/dynacore
out=target/indexes; data=target/indexes-data
rm -rf "$out" "$data"; mkdir -p "$out"
port=8030; endpoint=http://127.0.0.1:$port
call() { # operation json
  curl -s -X POST "$endpoint/" -H "Content-Type: application/x-amz-json-1.0" \
    -H "X-Amz-Target: DynamoDB_20120810.$1" -H "Authorization: AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00" -d "$2"
}
create() { # table gsi-count
  local table=$1 n=$2 defs='{"AttributeName":"pk","AttributeType":"S"}' gsis=""
  for i in $(seq 0 $((n - 1))); do
    defs="$defs,{\"AttributeName\":\"field$i\",\"AttributeType\":\"S\"}"
    gsis="$gsis${gsis:+,}{\"IndexName\":\"gsi$i\",\"KeySchema\":[{\"AttributeName\":\"field$i\",\"KeyType\":\"HASH\"}],\"Projection\":{\"ProjectionType\":\"ALL\"}}"
  done
  local body="{\"TableName\":\"$table\",\"BillingMode\":\"PAY_PER_REQUEST\",\"AttributeDefinitions\":[$defs],\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}]"
  [ "$n" -gt 0 ] && body="$body,\"GlobalSecondaryIndexes\":[$gsis]"
  call CreateTable "$body}" >/dev/null
}
metrics() { curl -s --aws-sigv4 aws:amz:us-east-1:dynamodb --user bench:bench "$endpoint/dynacore/metrics"; }
pending() { metrics | python3 -c 'import json,sys; print(sum(s["gsi_outbox_pending_records"] for s in json.load(sys.stdin)["shards"]))'; }
drain() { for _ in $(seq 1 600); do [ "$(pending)" = 0 ] && return; sleep 0.1; done; echo "outbox did not drain" >&2; }

$server serve --admin-listen off --shards "$shards" --data-dir "$data" --listen 127.0.0.1:$port 2>"$out/server.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "$endpoint/" && break; sleep 0.1; done

# Warm-up: the first seconds of a fresh data directory preallocate and
# recycle WAL segments and grow memtables; without this the first table
# measured is penalised (seen: 2.5x): syncs of never-written preallocated
# WAL space (ext4 unwritten extents) cost more than syncs of recycled
# segments, so warm up past the first segments (WARMUP seconds, 30).
create warm 0
$lg run --endpoint "$endpoint" --table warm --skip-load --mix put=100 --duration "${WARMUP:-30}" \
  --connections 16 --quiet --label warm >/dev/null 2>"$out/warm.err"
echo "== PutItem with ${ORDER:-0 1 5} GSIs (closed loop, 16 connections, ${secs}s)" >&2
for n in ${ORDER:-0 1 5}; do
  create "puts$n" "$n"
  $lg run --endpoint "$endpoint" --table "puts$n" --skip-load --mix put=100 \
    --duration "$secs" --warmup 1 --connections 16 --quiet --label "gsi$n" \
    --json "$out/puts-$n.json" >/dev/null 2>"$out/puts-$n.err"
  drain
done
echo "RSS after the put runs: $(grep VmRSS /proc/$pid/status | awk '{print $2, $3}')" >&2

echo "== GSI lag under a steady 2000 puts/s (1 GSI, fresh process)" >&2
kill $pid; wait $pid 2>/dev/null || true
rm -rf "$data"
$server serve --admin-listen off --shards "$shards" --data-dir "$data" --listen 127.0.0.1:$port 2>>"$out/server.err" &
pid=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "$endpoint/" && break; sleep 0.1; done
create lag 1
$lg run --endpoint "$endpoint" --table lag --skip-load --mix put=100 --rate 2000 \
  --duration "$secs" --warmup 1 --connections 32 --quiet --label lag \
  --json "$out/lag.json" >/dev/null 2>"$out/lag.err"
drain
metrics > "$out/lag-metrics.json"

echo "== Backfill of a GSI over $records items" >&2
create fill 0
$lg run --endpoint "$endpoint" --table fill --record-count "$records" --mix get=100 \
  --duration 1 --connections 16 --quiet --label load >/dev/null 2>"$out/load.err"
call UpdateTable '{"TableName":"fill","AttributeDefinitions":[{"AttributeName":"field0","AttributeType":"S"}],"GlobalSecondaryIndexUpdates":[{"Create":{"IndexName":"late","KeySchema":[{"AttributeName":"field0","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}}}]}' >/dev/null
start=$(date +%s.%N)
for _ in $(seq 1 6000); do
  call DescribeTable '{"TableName":"fill"}' | grep -q '"IndexStatus":"ACTIVE"' && break
  sleep 0.05
done
end=$(date +%s.%N)
metrics > "$out/backfill-metrics.json"
echo "RSS at the end: $(grep VmRSS /proc/$pid/status | awk '{print $2, $3}')" >&2

python3 - "$out" "$records" "$start" "$end" <<'PY'
import json, sys, os
out, records, start, end = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
print("| table | PutItem ops/s | p50 ms | p99 ms | p99.9 ms | errors |")
print("|---|---:|---:|---:|---:|---:|")
base = None
for n in (0, 1, 5):
    d = json.load(open(os.path.join(out, f"puts-{n}.json")))
    a = d["all"]; t = d["throughput_ops_per_s"]
    base = base or t
    print(f"| {n} GSIs | {t:,.0f} ({t/base:.2f}x) | {a['p50_us']/1000:.2f} | {a['p99_us']/1000:.2f} | {a['p999_us']/1000:.2f} | {d['errors']} |")
m = json.load(open(os.path.join(out, "lag-metrics.json")))["shards"]
lag = json.load(open(os.path.join(out, "lag.json")))
print()
print(f"GSI lag at {lag['throughput_ops_per_s']:,.0f} puts/s (open loop 2000/s): per shard p50/p99/max ms = "
      + "; ".join(f"{s['gsi_lag_ms_p50']}/{s['gsi_lag_ms_p99']}/{s['gsi_lag_ms_max']} ({s['gsi_lag_samples']} records)" for s in m)
      + f"; put p99 {lag['all']['p99_us']/1000:.2f} ms")
b = json.load(open(os.path.join(out, "backfill-metrics.json")))["shards"]
secs = end - start
print(f"Backfill: {records} items to ACTIVE in {secs:.2f} s = {records/secs:,.0f} items/s; "
      + "shard walk rates " + ", ".join(f"{s['backfill_items_per_s']:,}/s" for s in b))
PY
