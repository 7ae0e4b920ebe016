#!/usr/bin/env bash
# Point-in-time recovery, in ONE run on a fresh data directory (2 shards):
#  1. load `records` 1 KB items into usertable (the loadgen's load phase);
#  2. open-loop PutItem at `rate` ops/s for `secs` s with PITR OFF: p50/p99;
#  3. UpdateContinuousBackups (enable; the first base is cut inside the
#     request): its time, and the time until the window opens;
#  4. the same load again with PITR ON: p99 on ÷ off, history bytes written
#     per byte of items written (`pitr_bytes_written` ÷ puts × item bytes),
#     i.e. archive growth per GB written;
#  5. RestoreTableToPointInTime to the latest time (base + every history
#     record since): items/s and history records replayed per second.
#   benches/pitr.sh [secs=10] [rate=2000] [records=100000]
# Needs: cargo build --release --workspace; python3 with boto3.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}; rate=${2:-2000}; records=${3:-100000}
lg=${LOADGEN:-target/release/dynacore-loadgen}; server=${SERVER:-target/release/dynacore}
out=${OUT:-target/pitr-bench}; rm -rf "$out"; mkdir -p "$out"
data=target/pitr-bench-data; rm -rf "$data"
port=${PORT:-8032}; admin=$((port + 100)); ep=http://127.0.0.1:$port

echo "machine: $(nproc) CPUs, $(uname -r); $(date -u +%FT%TZ); load average $(cut -d' ' -f1-3 /proc/loadavg)"
$server serve --admin-listen 127.0.0.1:$admin --shards 2 --data-dir "$data" --listen 127.0.0.1:$port 2>"$out/server.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 400); do curl -s -o /dev/null $ep/ && break; sleep 0.05; done

lgrun() { # json, extra args…
  local json=$1; shift
  $lg run --endpoint $ep --quiet --no-pin --mix put=100 --record-count "$records" \
    --field-count 1 --value-size 1000 --json "$json" "$@" </dev/null >/dev/null 2>>"$out/loadgen.err" || true
}
lgrun "$out/load.json" --duration 1 --warmup 0 --connections 16
lgrun "$out/off.json" --skip-load --duration "$secs" --warmup 1 --connections 16 --rate "$rate"

export EP=$ep OUT=$out ADMIN=http://127.0.0.1:$admin
python3 - <<'PY'
import boto3, json, os, time
c = boto3.client("dynamodb", endpoint_url=os.environ["EP"], region_name="us-east-1",
                 aws_access_key_id="x", aws_secret_access_key="x")
t0 = time.monotonic()
c.update_continuous_backups(TableName="usertable",
    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
enable_s = time.monotonic() - t0
while "EarliestRestorableDateTime" not in c.describe_continuous_backups(TableName="usertable")[
        "ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]:
    time.sleep(0.01)
json.dump({"enable_s": enable_s, "open_s": time.monotonic() - t0},
          open(os.path.join(os.environ["OUT"], "enable.json"), "w"))
PY
# The window opens at a whole second: writes measured below come after it.
sleep 1
lgrun "$out/on.json" --skip-load --duration "$secs" --warmup 1 --connections 16 --rate "$rate"

python3 - <<'PY'
import boto3, json, os, re, time, urllib.request
out = os.environ["OUT"]
c = boto3.client("dynamodb", endpoint_url=os.environ["EP"], region_name="us-east-1",
                 aws_access_key_id="x", aws_secret_access_key="x")
def metric(name):
    text = urllib.request.urlopen(os.environ["ADMIN"] + "/metrics").read().decode()
    return sum(float(v) for v in re.findall(rf"^{name}\{{[^}}]*\}} (\S+)$", text, re.M))
off, on = (json.load(open(os.path.join(out, n))) for n in ("off.json", "on.json"))
enable = json.load(open(os.path.join(out, "enable.json")))
p = lambda r, q: r["all"][f"p{q}_us"] / 1000
history_bytes = metric("dynacore_pitr_history_bytes_written_total")
history_records = metric("dynacore_pitr_history_records_written_total")
base_bytes = metric("dynacore_pitr_base_bytes")
items = c.describe_table(TableName="usertable")["Table"]["ItemCount"]
t0 = time.monotonic()
c.restore_table_to_point_in_time(SourceTableName="usertable", TargetTableName="restored",
                                 UseLatestRestorableTime=True)
while c.describe_table(TableName="restored")["Table"]["TableStatus"] != "ACTIVE":
    time.sleep(0.02)
restore_s = time.monotonic() - t0
print(f"PutItem open loop, 16 connections: PITR off p50 {p(off,50):.2f} ms p99 {p(off,99):.2f} ms "
      f"({off.get('throughput_ops_per_s', 0):,.0f} ops/s); on p50 {p(on,50):.2f} ms p99 {p(on,99):.2f} ms "
      f"({on.get('throughput_ops_per_s', 0):,.0f} ops/s); p99 on/off {p(on,99)/max(p(off,99),1e-9):.2f}x")
print(f"enable: answered in {enable['enable_s']*1000:.0f} ms (first base cut), window open after {enable['open_s']:.2f} s; "
      f"base {base_bytes/1e6:.1f} MB")
print(f"history: {history_records:,.0f} records, {history_bytes/1e6:.1f} MB "
      f"= {history_bytes/max(history_records,1):.0f} B/record; per GB of items written ~{history_bytes/max(history_records,1)/1000:.2f} GB")
print(f"restore to latest: {items:,} items (base) + {history_records:,.0f} history records in {restore_s:.2f} s: "
      f"{items/restore_s:,.0f} items/s, {(base_bytes+history_bytes)/1e6/restore_s:.1f} MB/s")
PY
