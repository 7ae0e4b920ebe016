#!/usr/bin/env bash
# TTL expiry, in one run against one Dynacore process (fresh data dir):
#  1. idle: foreground GetItem/PutItem (open loop, bundled load generator)
#     on table `foreground` while a table `exp` holds ITEMS expired items with TTL
#     still DISABLED (the expirer scans nothing);
#  2. busy: TTL enabled on `exp`, the same foreground load at once, while
#     the expirer deletes; expiry rate = deletions during the run ÷ its
#     duration (from /dynacore/metrics `ttl_deleted_total`);
#  3. idle again, after the backlog is gone (a second baseline).
# Reports p99 busy ÷ idle per operation and the expiry rate.
#   benches/ttl.sh [seconds=10] [items=40000] [deletes_per_s=1000] [rate=2000] [shards=1] [idle_backoff=8]
# idle_backoff is `ttl_idle_backoff_max` (1: every pass ttl_scan_interval_ms
# apart even with nothing to expire, as before the back-off existed).
# Build first: cargo build --release --workspace. Output: target/ttl-bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}; items=${2:-40000}; per_s=${3:-1000}; rate=${4:-2000}; shards=${5:-1}; backoff=${6:-8}
lg=target/release/dynacore-loadgen; server=target/release/dynacore
out=target/ttl-bench; data=target/ttl-bench-data
rm -rf "$out" "$data"; mkdir -p "$out"
port=8040; endpoint=http://127.0.0.1:$port
cat > "$out/config.toml" <<TOML
ttl_scan_interval_ms = 200
ttl_deletes_per_second_max = $per_s
ttl_change_interval_ms = 0
ttl_idle_backoff_max = $backoff
TOML
call() { # operation json
  curl -s -X POST "$endpoint/" -H "Content-Type: application/x-amz-json-1.0" \
    -H "X-Amz-Target: DynamoDB_20120810.$1" -H "Authorization: AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00" -d "$2"
}
metric() { curl -s --aws-sigv4 aws:amz:us-east-1:dynamodb --user bench:bench "$endpoint/dynacore/metrics" | python3 -c "import json,sys; print(sum(s['$1'] for s in json.load(sys.stdin)['shards']))"; }

pin=""; [ "$shards" = 1 ] && pin="taskset -c 0"
$pin $server serve --admin-listen off --shards "$shards" --data-dir "$data" --listen 127.0.0.1:$port \
  --config "$out/config.toml" 2>"$out/server.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "$endpoint/" && break; sleep 0.1; done

call CreateTable '{"TableName":"exp","BillingMode":"PAY_PER_REQUEST","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}]}' >/dev/null
echo "== loading $items expired items (TTL disabled) and the foreground table" >&2
python3 - "$endpoint" "$items" <<'PY'
import json, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor
endpoint, items = sys.argv[1], int(sys.argv[2])
past = int(time.time()) - 3600
def batch(start):
    reqs = [{"PutRequest": {"Item": {"pk": {"S": f"e{i:08d}"}, "exp": {"N": str(past)},
             "pad": {"S": "x" * 200}}}} for i in range(start, min(start + 25, items))]
    body = json.dumps({"RequestItems": {"exp": reqs}}).encode()
    req = urllib.request.Request(endpoint + "/", body, {
        "Content-Type": "application/x-amz-json-1.0", "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00",
        "X-Amz-Target": "DynamoDB_20120810.BatchWriteItem"})
    urllib.request.urlopen(req).read()
with ThreadPoolExecutor(8) as pool:
    list(pool.map(batch, range(0, items, 25)))
PY
# The load phase of the foreground table (10k records), then warm-up.
$lg run --endpoint "$endpoint" --table foreground --record-count 10000 --mix get=50,put=50 \
  --duration "${WARMUP:-10}" --connections 16 --quiet --label warm >/dev/null 2>"$out/warm.err"

fg() { # label
  $lg run --endpoint "$endpoint" --table foreground --skip-load --record-count 10000 --mix get=50,put=50 \
    --rate "$rate" --duration "$secs" --connections 32 --quiet --label "$1" \
    --json "$out/$1.json" --hdr-log "$out/$1.hlog" >/dev/null 2>"$out/$1.err"
}
echo "== idle: ${secs}s of get=50,put=50 at $rate/s" >&2
fg idle
echo "== busy: TTL enabled, same load" >&2
call UpdateTimeToLive '{"TableName":"exp","TimeToLiveSpecification":{"Enabled":true,"AttributeName":"exp"}}' >/dev/null
before=$(metric ttl_deleted_total); t0=$(date +%s.%N)
fg busy
t1=$(date +%s.%N); after=$(metric ttl_deleted_total); backlog=$(metric ttl_backlog_items)
echo "== waiting for the backlog to go, then idle again" >&2
for _ in $(seq 1 3000); do [ "$(metric ttl_deleted_total)" -ge "$items" ] && break; sleep 0.2; done
t2=$(date +%s.%N); total=$(metric ttl_deleted_total)
fg idle2
echo "RSS at the end: $(grep VmRSS /proc/$pid/status | awk '{print $2, $3}')" >&2

python3 - "$out" "$before" "$after" "$t0" "$t1" "$total" "$t2" "$items" "$per_s" "$rate" "$shards" "$backlog" "$backoff" <<'PY'
import json, sys, os
out = sys.argv[1]
before, after, t0, t1, total, t2 = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
items, per_s, rate, shards, backlog = sys.argv[8], sys.argv[9], sys.argv[10], sys.argv[11], sys.argv[12]
runs = {l: json.load(open(os.path.join(out, f"{l}.json"))) for l in ("idle", "busy", "idle2")}
print(f"shards={shards} items={items} ttl_deletes_per_second_max={per_s} ttl_idle_backoff_max={sys.argv[13]} foreground={rate}/s get=50,put=50")
print(f"expiry during the busy run: {after - before} items in {t1 - t0:.1f} s = {(after - before) / (t1 - t0):,.0f} items/s "
      f"(backlog at its end {backlog}); all {total} gone {t2 - t0:.1f} s after enabling = {total / (t2 - t0):,.0f} items/s")
print("| run | ops/s | GetItem p50 / p99 ms | PutItem p50 / p99 ms | errors |")
print("|---|---:|---:|---:|---:|")
def op(d, name):
    o = d.get("operations", {}).get(name) or {}
    return o.get("p50_us", 0) / 1000, o.get("p99_us", 0) / 1000
for label, d in runs.items():
    g, p = op(d, "get"), op(d, "put")
    print(f"| {label} | {d['throughput_ops_per_s']:,.0f} | {g[0]:.2f} / {g[1]:.2f} | {p[0]:.2f} / {p[1]:.2f} | {d['errors']} |")
base = [op(runs["idle"], o)[1] for o in ("get", "put")]
busy = [op(runs["busy"], o)[1] for o in ("get", "put")]
after = [op(runs["idle2"], o)[1] for o in ("get", "put")]
print(f"p99 busy / idle: GetItem {busy[0] / max(base[0], 1e-9):.2f}x, PutItem {busy[1] / max(base[1], 1e-9):.2f}x")
print(f"p99 after the backlog (idle2) / idle: GetItem {after[0] / max(base[0], 1e-9):.2f}x, PutItem {after[1] / max(base[1], 1e-9):.2f}x")
PY
