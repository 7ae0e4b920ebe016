#!/usr/bin/env bash
# Storage-engine figures through the real server, in one run:
#  1. durable PutItem (1 KB items, uniform keys: with zipfian ones the
#     hottest keys pass DynamoDB's 1,000 write units a second per key and
#     are throttled, as on AWS) at 16 connections, closed loop, beside the
#     running peers (DynamoDB Local 8003, dynoxide 8004) — every Dynacore ack
#     waited for fdatasync;
#  2. the same at 80% of the measured Dynacore peak, open loop (p99 target);
#  3. GetItem with a data set about 5x the block cache (uniform keys),
#     against the disk's raw O_DIRECT 4 KiB random-read rate and latency
#     (fio, io_uring, queue depth 16 = the 16 connections) measured in the
#     same run on the same file system;
#  4. recovery time after SIGKILL with a WAL-heavy data set (large memtable).
# Write amplification: bytes the server process wrote to the device
# (/proc/<pid>/io write_bytes: WAL, SSTables, compaction) per byte of item
# values acknowledged, over the PutItem runs.
#   benches/storage.sh [seconds=8]
# Needs: cargo build --release --workspace; fio (Debian: apt-get install fio).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}
lg=target/release/dynacore-loadgen; server=target/release/dynacore
out=target/storage-bench; rm -rf "$out"; mkdir -p "$out"
start_server() { # data_dir config
  rm -rf "$1"
  taskset -c 0 $server serve --admin-listen off --shards 1 --data-dir "$1" --listen 127.0.0.1:8010 --config "$2" 2>"$out/server.err" &
  pid=$!
  for _ in $(seq 1 200); do curl -s -o /dev/null http://127.0.0.1:8010/ && return; sleep 0.05; done
}
report() { python3 -c "
import json,sys; d=json.load(open(sys.argv[1])); a=d['all']
print(f\"{sys.argv[2]}: {d['throughput_ops_per_s']:,.0f} ops/s p50 {a['p50_us']/1000:.2f} ms p99 {a['p99_us']/1000:.2f} ms p99.9 {a['p999_us']/1000:.2f} ms errors {d['errors']}\")" "$1" "$2"; }
lgrun() { $lg run --cpu-offset 1 --quiet --warmup 2 --duration "$secs" "$@" >/dev/null 2>>"$out/loadgen.err"; }

echo 'memtable_bytes_max = 67108864' > "$out/default.toml"
sed -i '1s/^/[engine]\n/' "$out/default.toml"
start_server target/storage-put "$out/default.toml"
written() { awk '/^write_bytes/{print $2}' /proc/$pid/io; }
w0=$(written)
lgrun --endpoint http://127.0.0.1:8010 --mix put=100 --distribution uniform --record-count 10000 --field-count 1 --value-size 1000 --connections 16 --json "$out/put.json"
report "$out/put.json" "dynacore durable PutItem, 16 conns"
peak=$(python3 -c "import json; print(int(json.load(open('$out/put.json'))['throughput_ops_per_s']*0.8))")
lgrun --endpoint http://127.0.0.1:8010 --mix put=100 --distribution uniform --record-count 10000 --field-count 1 --value-size 1000 --skip-load --connections 64 --rate "$peak" --json "$out/put80.json"
report "$out/put80.json" "dynacore durable PutItem open loop at 80% of peak ($peak/s)"
echo "RSS under write load: $(grep VmRSS /proc/$pid/status | awk '{print $2, $3}')"
sleep 3 # let the last flush and compaction finish: they are part of the cost
w1=$(written)
python3 - "$out/put.json" "$out/put80.json" "$w0" "$w1" <<'PY'
import json, sys
# Acknowledged puts: the load phase's 10,000 records plus both measured
# runs (warm-ups also write; counted at the measured rate, so this slightly
# overstates amplification).
runs = [json.load(open(p)) for p in sys.argv[1:3]]
acked = 10000 + sum(d["ops"] for d in runs) * 1.2
device = int(sys.argv[4]) - int(sys.argv[3])
print(f"write amplification: {device / 2**20:.0f} MiB to the device for ~{acked * 1000 / 2**20:.0f} MiB of 1 KB values = {device / (acked * 1000):.1f}x")
PY
kill $pid; wait $pid 2>/dev/null || true
for peer in ddblocal:8003 dynoxide:8004; do
  name=${peer%%:*}; port=${peer##*:}
  curl -s -o /dev/null "http://127.0.0.1:$port/" || { echo "$name not running; skipped"; continue; }
  lgrun --endpoint "http://127.0.0.1:$port" --mix put=100 --table "bench$RANDOM" --record-count 10000 --field-count 1 --value-size 1000 --connections 16 --json "$out/put-$name.json" || true
  [ -f "$out/put-$name.json" ] && report "$out/put-$name.json" "$name PutItem, 16 conns"
done

# The disk's raw random-read rate, same file system, O_DIRECT 4 KiB reads.
fio --name=raw --filename=target/storage-fio.dat --size=256M --direct=1 --rw=randread --bs=4k \
  --ioengine=io_uring --iodepth=16 --runtime="$secs" --time_based --cpus_allowed=1 \
  --output-format=json > "$out/fio.json" 2>>"$out/fio.err"
rm -f target/storage-fio.dat
python3 - "$out/fio.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["jobs"][0]["read"]
p = r["clat_ns"]["percentile"]
print(f"raw O_DIRECT 4 KiB random read, qd 16: {r['iops']:,.0f} IOPS p50 {p['50.000000']/1e6:.2f} ms p99 {p['99.000000']/1e6:.2f} ms")
PY

# Reads from disk: 16 MiB block cache, ~80 MB of items.
printf '[engine]\nblock_cache_bytes_max = 16777216\nmemtable_bytes_max = 8388608\n' > "$out/smallcache.toml"
start_server target/storage-get "$out/smallcache.toml"
$lg run --endpoint http://127.0.0.1:8010 --mix get=100 --distribution uniform --record-count 80000 --field-count 1 --value-size 1000 --duration 1 --warmup 0 --cpu-offset 1 --quiet >/dev/null 2>>"$out/loadgen.err"
read_from_device() { awk '/^read_bytes/{print $2}' /proc/$pid/io; }
r0=$(read_from_device)
lgrun --endpoint http://127.0.0.1:8010 --mix get=100 --distribution uniform --record-count 80000 --field-count 1 --value-size 1000 --skip-load --connections 16 --json "$out/get-disk.json"
r1=$(read_from_device)
python3 -c "import json; d=json.load(open('$out/get-disk.json')); n=d['ops']*1.25; print(f'read from the device: {($r1-$r0)/2**20:.0f} MiB, {($r1-$r0)/n/1024:.1f} KiB per GetItem (warm-up included; 0 would mean the page cache served them)')"
report "$out/get-disk.json" "dynacore GetItem, data ~5x block cache, uniform"
python3 - "$out/get-disk.json" "$out/fio.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))["jobs"][0]["read"]
p99 = r["clat_ns"]["percentile"]["99.000000"] / 1e3
print(f"GetItem from disk ÷ raw reads: throughput {d['throughput_ops_per_s'] / r['iops']:.2f}x, p99 {d['all']['p99_us'] / p99:.2f}x")
PY
echo "RSS with 80 MB stored, 16 MiB cache: $(grep VmRSS /proc/$pid/status | awk '{print $2, $3}')"
kill $pid; wait $pid 2>/dev/null || true

# Recovery: a 1 GiB memtable keeps everything in the WAL; SIGKILL; time to healthy.
printf '[engine]\nmemtable_bytes_max = 1073741824\nwal_segment_bytes = 67108864\n' > "$out/bigmem.toml"
start_server target/storage-recover "$out/bigmem.toml"
$lg run --endpoint http://127.0.0.1:8010 --mix put=100 --record-count 200000 --field-count 1 --value-size 1000 --duration 1 --warmup 0 --cpu-offset 1 --quiet >/dev/null 2>>"$out/loadgen.err"
wal_bytes=$(du -sb target/storage-recover | awk '{print $1}')
kill -9 $pid; wait $pid 2>/dev/null || true
t0=$(date +%s.%N)
taskset -c 0 $server serve --admin-listen off --shards 1 --data-dir target/storage-recover --listen 127.0.0.1:8010 --config "$out/bigmem.toml" 2>>"$out/server.err" &
pid=$!
until curl -s -o /dev/null http://127.0.0.1:8010/; do sleep 0.01; done
t1=$(date +%s.%N)
python3 -c "b=$wal_bytes; t=$t1-$t0; print(f'recovery: {b/2**20:.0f} MiB data dir (WAL) replayed in {t:.2f} s = {t/(b/2**30):.1f} s per GiB')"
kill $pid; wait $pid 2>/dev/null || true
