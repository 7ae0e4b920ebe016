#!/usr/bin/env bash
# On-demand backups, in ONE run on a fresh data directory (2 shards):
#  1. load `records` 1 KB items into usertable (the loadgen's load phase);
#  2. open-loop PutItem at `rate` ops/s for `secs` s WITHOUT backups: p50/p99;
#  3. the same load again WHILE backups are taken back to back (CreateBackup,
#     then DescribeBackup until AVAILABLE): PutItem p99 during ÷ without,
#     and each backup's creation time (request → AVAILABLE) and rate;
#  4. RestoreTableFromBackup of the last backup until ACTIVE: items/s, MB/s.
#   benches/backups.sh [secs=10] [rate=2000] [records=200000]
# SERVER_ARGS adds server flags, e.g. "--encryption-key-file KEY" (sealed
# backups; `dynacore keygen KEY` writes one).
# Needs: cargo build --release --workspace; python3 with boto3.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}; rate=${2:-2000}; records=${3:-200000}
lg=${LOADGEN:-target/release/dynacore-loadgen}; server=${SERVER:-target/release/dynacore}
out=${OUT:-target/backups-bench}; rm -rf "$out"; mkdir -p "$out"
data=target/backups-bench-data; rm -rf "$data"
port=${PORT:-8031}; ep=http://127.0.0.1:$port

echo "machine: $(nproc) CPUs, $(uname -r); $(date -u +%FT%TZ); load average $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086 # SERVER_ARGS is a list of flags
$server serve --admin-listen off --shards 2 --data-dir "$data" --listen 127.0.0.1:$port ${CONFIG:+--config "$CONFIG"} ${SERVER_ARGS:-} 2>"$out/server.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 400); do curl -s -o /dev/null $ep/ && break; sleep 0.05; done

lgrun() { # json, extra args…
  local json=$1; shift
  $lg run --endpoint $ep --quiet --no-pin --mix put=100 --record-count "$records" \
    --field-count 1 --value-size 1000 --json "$json" "$@" </dev/null >/dev/null 2>>"$out/loadgen.err" || true
}
lgrun "$out/load.json" --duration 1 --warmup 0 --connections 16
lgrun "$out/without.json" --skip-load --duration "$secs" --warmup 1 --connections 16 --rate "$rate"

export EP=$ep OUT=$out
python3 - <<'PY' &
import boto3, json, os, time
c = boto3.client("dynamodb", endpoint_url=os.environ["EP"], region_name="us-east-1",
                 aws_access_key_id="x", aws_secret_access_key="x")
stop = os.path.join(os.environ["OUT"], "stop")
runs = []
while not os.path.exists(stop):
    t0 = time.monotonic()
    arn = c.create_backup(TableName="usertable", BackupName=f"bench-{len(runs)}")["BackupDetails"]["BackupArn"]
    cut = time.monotonic() - t0
    while True:
        d = c.describe_backup(BackupArn=arn)["BackupDescription"]
        if d["BackupDetails"]["BackupStatus"] == "AVAILABLE":
            break
        time.sleep(0.01)
    runs.append({"arn": arn, "cut_s": cut, "total_s": time.monotonic() - t0,
                 "items": d["SourceTableDetails"]["ItemCount"], "bytes": d["BackupDetails"]["BackupSizeBytes"]})
json.dump(runs, open(os.path.join(os.environ["OUT"], "backups.json"), "w"))
PY
bpid=$!
sleep 1
lgrun "$out/during.json" --skip-load --duration "$secs" --warmup 0 --connections 16 --rate "$rate"
touch "$out/stop"; wait $bpid

python3 - <<'PY'
import boto3, json, os, time
out = os.environ["OUT"]
c = boto3.client("dynamodb", endpoint_url=os.environ["EP"], region_name="us-east-1",
                 aws_access_key_id="x", aws_secret_access_key="x")
runs = json.load(open(os.path.join(out, "backups.json")))
last = runs[-1]
t0 = time.monotonic()
c.restore_table_from_backup(BackupArn=last["arn"], TargetTableName="restored")
while c.describe_table(TableName="restored")["Table"]["TableStatus"] != "ACTIVE":
    time.sleep(0.02)
restore_s = time.monotonic() - t0
def lat(name):
    r = json.load(open(os.path.join(out, name)))
    return r
w, d = lat("without.json"), lat("during.json")
def p(r, q):
    return r["all"][f"p{q}_us"] / 1000
print(f"PutItem open loop, 16 connections: without backups p50 {p(w,50):.2f} ms p99 {p(w,99):.2f} ms "
      f"({w.get('throughput_ops_per_s', 0):,.0f} ops/s); during backups p50 {p(d,50):.2f} ms p99 {p(d,99):.2f} ms "
      f"({d.get('throughput_ops_per_s', 0):,.0f} ops/s); p99 ratio {p(d,99)/max(p(w,99),1e-9):.2f}x")
for r in runs:
    print(f"backup: {r['items']:,} items, {r['bytes']/1e6:.1f} MB: cut (CreateBackup answered) {r['cut_s']*1000:.0f} ms, "
          f"AVAILABLE after {r['total_s']:.2f} s ({r['bytes']/1e6/r['total_s']:.1f} MB/s)")
print(f"restore: {last['items']:,} items, {last['bytes']/1e6:.1f} MB in {restore_s:.2f} s: "
      f"{last['items']/restore_s:,.0f} items/s, {last['bytes']/1e6/restore_s:.1f} MB/s")
PY
