#!/usr/bin/env bash
# Transaction costs, in ONE run against one Dynacore process (2 shards,
# shard-aware load generator, closed loop):
#  1. durable PutItem (the baseline);
#  2. TransactWriteItems of 2, 10 and 100 Puts, single-shard (every key on
#     one shard: the one-batch fast path) and cross-shard (two-phase commit);
#  3. 2-item cross-shard transactions under a zipfian hot-key workload
#     (1,000 records): conflict (cancellation) rate, and p99 over successes
#     and cancellations together.
# Reports ops/s, items/s, p50/p99 and each p99 ÷ PutItem's p99 (the target:
# a 2-item cross-shard transaction within 3×).
#   benches/transactions.sh [seconds=8]
# Build first: cargo build --release --workspace. Output: target/transactions/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}
lg=${LOADGEN:-target/release/dynacore-loadgen}; server=${SERVER:-target/release/dynacore}
out=target/transactions; data=target/transactions-data
rm -rf "$out" "$data"; mkdir -p "$out"
port=8040; base=9140; endpoint=http://127.0.0.1:$port
call() { # operation json
  curl -s -X POST "$endpoint/" -H "Content-Type: application/x-amz-json-1.0" \
    -H "X-Amz-Target: DynamoDB_20120810.$1" -H "Authorization: AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00" -d "$2"
}

$server serve --admin-listen off --shards 2 --shard-port-base $base --data-dir "$data" --listen 127.0.0.1:$port 2>"$out/server.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "$endpoint/" && break; sleep 0.1; done
call CreateTable '{"TableName":"usertable","BillingMode":"PAY_PER_REQUEST","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}]}' >/dev/null

run() { # label mix batch distribution [records]
  $lg run --endpoint "$endpoint" --shard-aware --skip-load --mix "$2" --batch-size "$3" \
    --distribution "$4" --record-count "${5:-100000}" --field-count 1 --value-size 100 \
    --duration "$secs" --warmup 1 --connections 16 --quiet --label "$1" \
    --json "$out/$1.json" >/dev/null 2>"$out/$1.err" || true   # a missed target still writes JSON
}
# Warm-up past the first WAL segments (see benches/indexes.sh).
run warm put=100 1 uniform
run put put=100 1 uniform
for n in 2 10 100; do
  run "local-$n" transactlocal=100 "$n" uniform
  run "cross-$n" transactcross=100 "$n" uniform
done
# Hot keys: zipfian over 1,000 records (the few hottest take most writes).
run hot-cross-2 transactcross=100 2 zipfian 1000
kill $pid; wait $pid 2>/dev/null || true; trap - EXIT

python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
load = lambda n: json.load(open(os.path.join(out, n + ".json")))
put = load("put")
base_p99 = put["all"]["p99_us"]
print(f"machine: {os.cpu_count()} CPUs; 2 shards; 16 connections; closed loop\n")
print("| run | items/txn | ops/s | items/s | p50 ms | p99 ms | p99 ÷ PutItem p99 | cancelled |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
rows = [("PutItem", "put", 1)] + [(f"{k} {n}", f"{k}-{n}", n) for n in (2, 10, 100) for k in ("local", "cross")]
rows.append(("cross 2, zipfian 1k keys", "hot-cross-2", 2))
for label, name, items in rows:
    d = load(name); a = d["all"]
    total = d["ops"] + d["errors"]
    cancelled = d["error_types"].get("TransactionCanceledException", 0)
    print(f"| {label} | {items} | {d['throughput_ops_per_s']:,.0f} | {d['throughput_ops_per_s'] * items:,.0f} | "
          f"{a['p50_us'] / 1000:.2f} | {a['p99_us'] / 1000:.2f} | {a['p99_us'] / max(base_p99, 1):.2f}× | "
          f"{cancelled / max(total, 1):.1%} |")
hot = load("hot-cross-2")
failed = hot.get("failures_p99_us") or hot["all"].get("p99_with_failures_us")
if failed:
    print(f"\nzipfian 2-item cross-shard: p99 over successes and cancellations {failed / 1000:.2f} ms")
PY
