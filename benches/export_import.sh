#!/usr/bin/env bash
# Export and import rates, in ONE run on a fresh data directory (2 shards):
#  1. load `records` items of ~`size` bytes into `src` (BatchWriteItem, 8 threads);
#  2. ExportTableToPointInTime (DYNAMODB_JSON, then ION) until COMPLETED:
#     items/s and MB/s (item bytes, BilledSizeBytes) from the request to COMPLETED;
#     then a DYNAMODB_JSON export at a past ExportTime (just after the load),
#     materialized from point-in-time recovery (the base was cut on the empty
#     table, so every item comes from the history);
#  3. ImportTable of each export into a new table until COMPLETED:
#     items/s and MB/s (item bytes), and the gzip'd bytes read.
#   benches/export_import.sh [records=100000] [size=1000]
# Needs: cargo build --release (or SERVER=target/debug/dynacore); python3 with boto3.
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-100000}; size=${2:-1000}
server=${SERVER:-target/release/dynacore}
out=${OUT:-target/export-import-bench}; rm -rf "$out"; mkdir -p "$out"
data=target/export-import-bench-data; rm -rf "$data"
port=${PORT:-8033}; ep=http://127.0.0.1:$port

echo "machine: $(nproc) CPUs, $(uname -r); $(date -u +%FT%TZ); load average $(cut -d' ' -f1-3 /proc/loadavg); server $server"
$server serve --admin-listen off --shards 2 --data-dir "$data" --listen 127.0.0.1:$port 2>"$out/server.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 400); do curl -s -o /dev/null $ep/ && break; sleep 0.05; done

EP=$ep RECORDS=$records SIZE=$size python3 - <<'PY'
import boto3, math, os, time
from concurrent.futures import ThreadPoolExecutor
ep, records, size = os.environ["EP"], int(os.environ["RECORDS"]), int(os.environ["SIZE"])
def client():
    return boto3.client("dynamodb", endpoint_url=ep, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")
c = client()
schema = dict(BillingMode="PAY_PER_REQUEST",
              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                    {"AttributeName": "g", "AttributeType": "S"}],
              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
              GlobalSecondaryIndexes=[{"IndexName": "byG",
                                       "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                       "Projection": {"ProjectionType": "KEYS_ONLY"}}])
c.create_table(TableName="src", **schema)
while c.describe_table(TableName="src")["Table"]["TableStatus"] != "ACTIVE":
    time.sleep(0.05)
# An export requires point-in-time recovery; wait for the first base.
c.update_continuous_backups(TableName="src",
                            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
while "EarliestRestorableDateTime" not in c.describe_continuous_backups(TableName="src")[
        "ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]:
    time.sleep(0.05)
def load(part):
    cl = client()
    for start in range(part * 25, records, 25 * 8):
        reqs = [{"PutRequest": {"Item": {"pk": {"S": f"user{i:09d}"}, "g": {"S": f"g{i % 100}"},
                                         "n": {"N": str(i)}, "v": {"S": "x" * size}}}}
                for i in range(start, min(start + 25, records))]
        while reqs:
            left = cl.batch_write_item(RequestItems={"src": reqs}).get("UnprocessedItems", {})
            reqs = left.get("src", [])
t0 = time.monotonic()
with ThreadPoolExecutor(8) as pool:
    list(pool.map(load, range(8)))
print(f"load: {records:,} items in {time.monotonic() - t0:.1f} s")
arn = c.describe_table(TableName="src")["Table"]["TableArn"]
# boto3 sends whole seconds: the next whole second after the load.
loaded_at = math.ceil(time.time())
for fmt in ["DYNAMODB_JSON", "ION"]:
    t0 = time.monotonic()
    e = c.export_table_to_point_in_time(TableArn=arn, S3Bucket="bench", S3Prefix=fmt.lower(),
                                        ExportFormat=fmt)["ExportDescription"]
    while e["ExportStatus"] == "IN_PROGRESS":
        time.sleep(0.02)
        e = c.describe_export(ExportArn=e["ExportArn"])["ExportDescription"]
    secs = time.monotonic() - t0
    assert e["ExportStatus"] == "COMPLETED", e
    mb = e["BilledSizeBytes"] / 1e6
    print(f"export {fmt}: {e['ItemCount']:,} items, {mb:.1f} MB in {secs:.2f} s: "
          f"{e['ItemCount'] / secs:,.0f} items/s, {mb / secs:.1f} MB/s")
    folder = e["ExportManifest"].rsplit("/", 1)[0]
    t0 = time.monotonic()
    i = c.import_table(S3BucketSource={"S3Bucket": "bench", "S3KeyPrefix": folder + "/data/"},
                       InputFormat=fmt, InputCompressionType="GZIP",
                       TableCreationParameters={"TableName": "from_" + fmt.lower(), **schema})["ImportTableDescription"]
    while i["ImportStatus"] == "IN_PROGRESS":
        time.sleep(0.02)
        i = c.describe_import(ImportArn=i["ImportArn"])["ImportTableDescription"]
    secs = time.monotonic() - t0
    assert i["ImportStatus"] == "COMPLETED" and i["ErrorCount"] == 0, i
    print(f"import {fmt}: {i['ImportedItemCount']:,} items ({mb:.1f} MB of items, "
          f"{i['ProcessedSizeBytes'] / 1e6:.1f} MB gzip'd read) in {secs:.2f} s: "
          f"{i['ImportedItemCount'] / secs:,.0f} items/s, {mb / secs:.1f} MB/s")
while time.time() < loaded_at + 2:
    time.sleep(0.05)
t0 = time.monotonic()
e = c.export_table_to_point_in_time(TableArn=arn, S3Bucket="bench", S3Prefix="past",
                                    ExportTime=loaded_at)["ExportDescription"]
while e["ExportStatus"] == "IN_PROGRESS":
    time.sleep(0.02)
    e = c.describe_export(ExportArn=e["ExportArn"])["ExportDescription"]
secs = time.monotonic() - t0
assert e["ExportStatus"] == "COMPLETED" and e["ItemCount"] == records, e
mb = e["BilledSizeBytes"] / 1e6
print(f"export DYNAMODB_JSON at a past time (from the history): {e['ItemCount']:,} items, "
      f"{mb:.1f} MB in {secs:.2f} s: {e['ItemCount'] / secs:,.0f} items/s, {mb / secs:.1f} MB/s")
PY
