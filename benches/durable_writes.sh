#!/usr/bin/env bash
# Durable PutItem against the disk's own fdatasync rate, in ONE run:
#  1. raw 4 KiB O_DIRECT pwrite + fdatasync on the same disk and CPU (the data
#     directory's file system), into a zero-filled and a fallocated file;
#  2. Dynacore durable PutItem (1 KB items, 1 shard), closed loop at 16 and
#     at 64 connections: the peak;
#  3. open loop at 80% of each peak (coordinated-omission corrected) with
#     p99 / p99.9, and the per-phase write histograms from /dynacore/metrics;
#  4. ratios: peak ÷ raw sync rate; RSS idle and under load.
# Every Dynacore run starts a fresh server on a FRESH data directory with NO
# warm-up: a new user's first seconds are what is measured.
#   benches/durable_writes.sh [seconds=10]
# Needs: cargo build --release --workspace; python3; taskset.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
lg=${LOADGEN:-target/release/dynacore-loadgen}; server=${SERVER:-target/release/dynacore}
out=${OUT:-target/durable-bench}; rm -rf "$out"; mkdir -p "$out"
port=8011; ep=http://127.0.0.1:$port
keys=1000000   # puts spread uniformly over 1M keys: inserts, the memtable fills and flushes
# (uniform: a zipfian hot key would pass DynamoDB's 1,000 WCU per partition key and be throttled)

start_server() { # data_dir
  rm -rf "$1"
  taskset -c 0 $server serve --admin-listen off --shards 1 --data-dir "$1" --listen 127.0.0.1:$port 2>"$out/server.err" &
  pid=$!
  for _ in $(seq 1 400); do curl -s -o /dev/null $ep/ && break; sleep 0.05; done
  curl -s -o /dev/null -H 'X-Amz-Target: DynamoDB_20120810.CreateTable' -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
    -d '{"TableName":"usertable","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}' $ep/
  rss_idle=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
}
stop_server() { kill $pid; wait $pid 2>/dev/null || true; }
# The shard thread's scheduler counters (/proc/<pid>/task/<tid>/schedstat:
# ns on CPU, ns runnable but waiting for a CPU, wake-ups): on a shared host
# the waiting time is latency no code change removes.
sched() { for t in /proc/$pid/task/*; do
    if [[ $(cat "$t/comm") == shard-* ]]; then cat "$t/schedstat"; fi; done | awk '{r+=$1; w+=$2; n+=$3} END {printf "%d %d %d\n", r, w, n}'; }
rss_kb() { awk '/VmRSS/{print $2}' /proc/$pid/status; }
lgrun() { # json, extra args…
  local json=$1; shift
  local s0; s0=$(sched)
  $lg run --endpoint $ep --cpu-offset 1 --quiet --warmup 0 --duration "$secs" --skip-load \
    --mix put=100 --distribution uniform --record-count $keys --field-count 1 --value-size 1000 --json "$json" "$@" \
    </dev/null >/dev/null 2>>"$out/loadgen.err" || true   # exit 3 (missed target) still writes the JSON
  echo "$s0 $(sched)" > "${json%.json}.sched"
}
phases() { curl -s --aws-sigv4 aws:amz:us-east-1:dynamodb --user bench:bench $ep/dynacore/metrics > "$1"; }

echo "machine: $(nproc) CPUs, $(uname -r), data on $(df -T target | awk 'NR==2{print $1" "$2}'); $(date -u +%FT%TZ)"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg); CPU pressure: $(head -1 /proc/pressure/cpu 2>/dev/null); IO pressure: $(head -1 /proc/pressure/io 2>/dev/null)"
taskset -c 0 python3 benches/tools/rawsync.py target zeroed 3 > "$out/raw-zeroed.json"
taskset -c 0 python3 benches/tools/rawsync.py target fallocated 3 > "$out/raw-fallocated.json"

for conns in 16 64; do
  start_server target/durable-data
  echo "$rss_idle" > "$out/rss-idle-$conns"
  ( sleep "$((secs / 2))"; rss_kb > "$out/rss-load-$conns" ) & sampler=$!
  lgrun "$out/peak-$conns.json" --connections $conns
  wait $sampler
  phases "$out/phases-peak-$conns.json"
  stop_server
  rate=$(python3 -c "import json; print(max(1, int(json.load(open('$out/peak-$conns.json'))['throughput_ops_per_s']*0.8)))")
  start_server target/durable-data
  ( sleep "$((secs / 2))"; rss_kb > "$out/rss-open-$conns" ) & sampler=$!
  lgrun "$out/open-$conns.json" --connections $conns --rate "$rate" --p99-target-ms 3
  wait $sampler
  phases "$out/phases-open-$conns.json"
  stop_server
done
rm -rf target/durable-data

python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
load = lambda n: json.load(open(os.path.join(out, n)))
rz, rf = load("raw-zeroed.json"), load("raw-fallocated.json")
raw = rz["syncs_per_s"]
def raw_line(name, r):
    tail = f"  p99.9 {r['p999_us']/1000:.2f} ms  max {r.get('max_us', 0)/1000:.2f} ms"
    return (f"raw 4 KiB O_DIRECT pwrite+fdatasync, {name}: {r['syncs_per_s']:,.0f}/s  "
            f"p50 {r['p50_us']/1000:.2f} ms  p99 {r['p99_us']/1000:.2f} ms" + tail)
print("\n" + raw_line("zero-filled file", rz))
print(raw_line("fallocated file ", rf) + "\n")
print("| run | conns | target ops/s | ops/s | p50 ms | p99 ms | p99.9 ms | errors | ÷ raw sync rate | RSS MB | shard on CPU | shard waiting for a CPU | loadgen send lag p99 ms |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for conns in (16, 64):
    for kind in ("peak", "open"):
        d = load(f"{kind}-{conns}.json"); a = d["all"]
        target = d.get("target_rate_ops_per_s") or "closed"
        rss_file = f"rss-{'load' if kind == 'peak' else 'open'}-{conns}"
        rss = int(open(os.path.join(out, rss_file)).read() or 0) / 1024
        tgt = f"{target:,.0f}" if isinstance(target, (int, float)) else target
        try:
            v = [int(x) for x in open(os.path.join(out, f"{kind}-{conns}.sched")).read().split()]
            secs = d["duration_s"]
            on_cpu, waiting = (v[3] - v[0]) / 1e9 / secs, (v[4] - v[1]) / 1e9 / secs
            sched = f"{on_cpu:.0%} | {waiting:.0%} of the run"
        except Exception:
            sched = "? | ?"
        lag = (d.get("send_lag") or {}).get("p99_us", 0) / 1000
        print(f"| {'closed-loop peak' if kind == 'peak' else 'open loop 80%'} | {conns} | {tgt} | {d['throughput_ops_per_s']:,.0f} | "
              f"{a['p50_us']/1000:.2f} | {a['p99_us']/1000:.2f} | {a['p999_us']/1000:.2f} | {d['errors']} | "
              f"{d['throughput_ops_per_s']/raw:.1f}× | {rss:.0f} | {sched} | {lag:.2f} |")
idle = [int(open(os.path.join(out, f'rss-idle-{c}')).read()) / 1024 for c in (16, 64)]
print(f"\nRSS idle (fresh server, empty table): {max(idle):.0f} MB")
print("\nper-phase write histograms (µs; server side, shard 0):")
names = ["memtable_apply_us", "queue_wait_us", "wal_write_us", "fdatasync_us", "ack_us", "backlog_wait_us", "total_us", "group_records", "segment_wait_us"]
for conns in (16, 64):
    for kind in ("peak", "open"):
        try:
            ph = load(f"phases-{kind}-{conns}.json")["shards"][0]["write_phases"]
        except Exception as e:
            print(f"  {kind}-{conns}: no phases ({e})"); continue
        print(f"  {kind} {conns} conns: " + "; ".join(
            f"{n.removesuffix('_us')} p50 {ph[n]['p50']} p99 {ph[n]['p99']} p99.9 {ph[n]['p999']}" for n in names if n in ph))
PY
