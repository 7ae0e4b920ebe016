#!/usr/bin/env bash
# Cost of encryption at rest (--encryption-key-file), in ONE run, each
# server on a FRESH data directory, plaintext and encrypted back to back:
#  1. durable PutItem (1 KB items, 1 shard, closed loop, 16 connections);
#  2. GetItem from disk: the table loaded with RECORDS 1 KB items, then
#     uniform random gets with a 1 MiB block cache, so nearly every get
#     reads (and, encrypted, authenticates and decrypts) a block by O_DIRECT.
# Prints ops/s, p50/p99 and the encrypted ÷ plaintext ratios.
#   benches/encryption.sh [seconds=10] [records=100000]
# Needs: cargo build --release --workspace; python3; taskset.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}; records=${2:-100000}
lg=${LOADGEN:-target/release/dynacore-loadgen}; server=${SERVER:-target/release/dynacore}
out=${OUT:-target/encryption-bench}; rm -rf "$out"; mkdir -p "$out"
port=8013; ep=http://127.0.0.1:$port
printf '[engine]\nblock_cache_bytes_max = 1048576\n' > "$out/small-cache.toml"
rm -f "$out/master.key"; $server keygen "$out/master.key" 2>/dev/null

start_server() { # data_dir, extra args…
  local dir=$1; shift
  rm -rf "$dir"
  taskset -c 0 $server serve --admin-listen off --shards 1 --data-dir "$dir" --listen 127.0.0.1:$port \
    --config "$out/small-cache.toml" "$@" 2>>"$out/server.err" &
  pid=$!
  for _ in $(seq 1 400); do curl -s -o /dev/null $ep/ && break; sleep 0.05; done
}
create_table() {
  curl -s -o /dev/null -H 'X-Amz-Target: DynamoDB_20120810.CreateTable' -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
    -d '{"TableName":"usertable","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}' $ep/
}
stop_server() { kill $pid; wait $pid 2>/dev/null || true; }
lgrun() { # json, extra args…
  local json=$1; shift
  $lg run --endpoint $ep --cpu-offset 1 --quiet --warmup 1 --duration "$secs" \
    --field-count 1 --value-size 1000 --json "$json" "$@" \
    </dev/null >/dev/null 2>>"$out/loadgen.err" || true
}

echo "machine: $(nproc) CPUs, $(uname -r), data on $(df -T target | awk 'NR==2{print $1" "$2}'); $(date -u +%FT%TZ)"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
for mode in ${MODES:-plain sealed}; do
  extra=(); [[ $mode == sealed ]] && extra=(--encryption-key-file "$out/master.key")
  # Durable puts into an empty table, inserts over 1M keys.
  start_server target/encryption-data "${extra[@]}"
  create_table
  lgrun "$out/put-$mode.json" --mix put=100 --distribution uniform --record-count 1000000 --connections 16 --skip-load
  stop_server
  # Reads from disk: load, then gets over every record.
  start_server target/encryption-data "${extra[@]}"
  lgrun "$out/get-$mode.json" --mix get=100 --distribution uniform --record-count "$records" --connections 16
  stop_server
done
rm -rf target/encryption-data

python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
load = lambda n: json.load(open(os.path.join(out, n)))
print("| run | mode | ops/s | p50 ms | p99 ms | errors |")
print("|---|---|---:|---:|---:|---:|")
r = {}
for kind in ("put", "get"):
    for mode in ("plain", "sealed"):
        d = load(f"{kind}-{mode}.json"); a = d["all"]; r[kind, mode] = d
        print(f"| {kind} | {mode} | {d['throughput_ops_per_s']:,.0f} | {a['p50_us']/1000:.2f} | {a['p99_us']/1000:.2f} | {d['errors']} |")
for kind in ("put", "get"):
    p, s = r[kind, "plain"], r[kind, "sealed"]
    print(f"{kind}: sealed/plain throughput {s['throughput_ops_per_s']/p['throughput_ops_per_s']:.3f}, "
          f"p50 {s['all']['p50_us']/max(1, p['all']['p50_us']):.3f}, p99 {s['all']['p99_us']/max(1, p['all']['p99_us']):.3f}")
PY
