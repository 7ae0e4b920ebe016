#!/usr/bin/env bash
# DynamoDB Streams cost and latency, in ONE run, each server on a FRESH data
# directory with no warm-up (1 shard pinned to CPU 0, loadgen on CPU 1):
#  1. durable PutItem (1 KB items, 16 connections, closed loop) on a table
#     WITHOUT a stream and on one WITH a NEW_AND_OLD_IMAGES stream,
#     alternated off/on/off/on so drift on this shared host hits both: the
#     throughput ratio on ÷ off and both p99s;
#  2. end-to-end latency: PutItem acknowledged → its record returned by
#     GetRecords (p50/p99; Python client, one connection);
#  3. GetRecords throughput of a consumer catching up from TRIM_HORIZON over
#     everything run 1's "on" phases wrote (records/s, MB/s).
#   benches/streams.sh [seconds=10]
# Needs: cargo build --release --workspace; python3; taskset; curl.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
lg=${LOADGEN:-target/release/dynacore-loadgen}; server=${SERVER:-target/release/dynacore}
out=${OUT:-target/streams-bench}; rm -rf "$out"; mkdir -p "$out"
data=target/streams-bench-data
port=8013; ep=http://127.0.0.1:$port
keys=1000000
auth='AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0'

ddb() { curl -s -H "X-Amz-Target: DynamoDB_20120810.$1" -H 'Content-Type: application/x-amz-json-1.0' -H "Authorization: $auth" -d "$2" $ep/; }
create() { # table, stream spec JSON ("" for none)
  local spec=""; [[ -n "$2" ]] && spec=",\"StreamSpecification\":$2"
  ddb CreateTable "{\"TableName\":\"$1\",\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\"$spec}" >/dev/null
}
start_server() {
  rm -rf "$data"
  taskset -c 0 $server serve --admin-listen off --shards 1 --data-dir "$data" --listen 127.0.0.1:$port 2>"$out/server.err" &
  pid=$!
  for _ in $(seq 1 400); do curl -s -o /dev/null $ep/ && break; sleep 0.05; done
}
stop_server() { kill $pid; wait $pid 2>/dev/null || true; }
lgrun() { # table, json
  $lg run --endpoint $ep --cpu-offset 1 --quiet --warmup 0 --duration "$secs" --skip-load --table "$1" \
    --mix put=100 --record-count $keys --field-count 1 --value-size 1000 --connections 16 --json "$2" \
    </dev/null >/dev/null 2>>"$out/loadgen.err" || true
}

echo "machine: $(nproc) CPUs, $(uname -r), data on $(df -T target | awk 'NR==2{print $1" "$2}'); $(date -u +%FT%TZ)"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
# 1. on vs off, alternated; both tables in the same server, each run on a fresh one.
for round in 1 2; do
  for mode in off on; do
    start_server
    if [[ $mode == on ]]; then create usertable '{"StreamEnabled":true,"StreamViewType":"NEW_AND_OLD_IMAGES"}'; else create usertable ""; fi
    lgrun usertable "$out/put-$mode-$round.json"
    if [[ $mode == on && $round == 2 ]]; then
      # 3. catch-up over what this phase wrote (server still up).
      taskset -c 1 python3 benches/tools/streams_consumer.py catchup $ep usertable > "$out/catchup.json"
    fi
    stop_server
  done
done
# 2. end-to-end latency on a fresh server.
start_server
create e2e '{"StreamEnabled":true,"StreamViewType":"NEW_AND_OLD_IMAGES"}'
taskset -c 1 python3 benches/tools/streams_consumer.py e2e $ep e2e 2000 > "$out/e2e.json"
stop_server
rm -rf "$data"

python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
load = lambda n: json.load(open(os.path.join(out, n)))
print("\n| run | ops/s | p50 ms | p99 ms | p99.9 ms | errors |")
print("|---|---:|---:|---:|---:|---:|")
tot = {"off": [], "on": []}
p99 = {"off": [], "on": []}
for r in (1, 2):
    for mode in ("off", "on"):
        d = load(f"put-{mode}-{r}.json"); a = d["all"]
        tot[mode].append(d["throughput_ops_per_s"]); p99[mode].append(a["p99_us"] / 1000)
        print(f"| PutItem, stream {mode} (round {r}) | {d['throughput_ops_per_s']:,.0f} | {a['p50_us']/1000:.2f} | "
              f"{a['p99_us']/1000:.2f} | {a['p999_us']/1000:.2f} | {d['errors']} |")
on, off = sum(tot["on"]) / 2, sum(tot["off"]) / 2
print(f"\nthroughput on ÷ off: {on / off:.2f}  (mean of 2 rounds each; p99 off {sum(p99['off'])/2:.2f} ms, on {sum(p99['on'])/2:.2f} ms)")
e = load("e2e.json")
print(f"ack → readable with GetRecords: p50 {e['p50_ms']:.2f} ms, p99 {e['p99_ms']:.2f} ms, max {e['max_ms']:.2f} ms "
      f"over {e['count']} writes ({e['polls_per_record']:.2f} GetRecords per record)")
c = load("catchup.json")
print(f"catch-up from TRIM_HORIZON: {c['records']:,} records in {c['seconds']:.2f} s = {c['records_per_s']:,.0f} records/s, "
      f"{c['mb_per_s']:.1f} MB/s of responses ({c['get_records_calls']} GetRecords)")
PY
