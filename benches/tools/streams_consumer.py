#!/usr/bin/env python3
"""DynamoDB Streams client measurements over raw HTTP (stdlib only):

  streams_consumer.py e2e ENDPOINT TABLE COUNT
      COUNT rounds of: PutItem (wait for its acknowledgement), then
      GetRecords from the shard's current iterator until that record is
      returned. Reports the ack -> readable latency p50/p99 in ms (one
      GetRecords round trip at least: the record is durable at the ack).
  streams_consumer.py catchup ENDPOINT TABLE
      Reads every shard of the table's stream from TRIM_HORIZON with
      Limit 1000 and reports records/s and MB/s of response bodies.

Prints one JSON object. Client overhead (Python, one connection) is part
of every figure; compare runs of this script only.
"""
import http.client
import json
import sys
import time
from urllib.parse import urlparse

AUTH = "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0"


class Conn:
    def __init__(self, endpoint):
        u = urlparse(endpoint)
        self.c = http.client.HTTPConnection(u.hostname, u.port)

    def call(self, target, body):
        data = json.dumps(body)
        self.c.request("POST", "/", data, {
            "X-Amz-Target": target,
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": AUTH,
        })
        r = self.c.getresponse()
        raw = r.read()
        if r.status != 200:
            raise RuntimeError(f"{target}: {r.status} {raw[:300]!r}")
        return raw

    def ddb(self, op, body):
        return json.loads(self.call("DynamoDB_20120810." + op, body))

    def streams(self, op, body):
        return self.call("DynamoDBStreams_20120810." + op, body)


def shards(conn, arn):
    out, start = [], None
    while True:
        body = {"StreamArn": arn}
        if start:
            body["ExclusiveStartShardId"] = start
        d = json.loads(conn.streams("DescribeStream", body))["StreamDescription"]
        out += [s["ShardId"] for s in d["Shards"]]
        start = d.get("LastEvaluatedShardId")
        if not start:
            return out


def stream_arn(conn, table):
    return conn.ddb("DescribeTable", {"TableName": table})["Table"]["LatestStreamArn"]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else 0


def e2e(endpoint, table, count):
    conn = Conn(endpoint)
    arn = stream_arn(conn, table)
    ids = shards(conn, arn)
    # One Dynacore shard in this bench: its open stream shard is the last listed.
    it = json.loads(conn.streams("GetShardIterator", {
        "StreamArn": arn, "ShardId": ids[-1], "ShardIteratorType": "LATEST"}))["ShardIterator"]
    lat, polls = [], 0
    for i in range(count):
        key = f"e2e-{i}"
        conn.ddb("PutItem", {"TableName": table, "Item": {"pk": {"S": key}, "v": {"S": "x" * 100}}})
        acked = time.perf_counter()
        while True:
            raw = conn.streams("GetRecords", {"ShardIterator": it, "Limit": 1000})
            polls += 1
            d = json.loads(raw)
            it = d.get("NextShardIterator") or it
            if any(r["dynamodb"]["Keys"]["pk"]["S"] == key for r in d["Records"]):
                lat.append((time.perf_counter() - acked) * 1000)
                break
    print(json.dumps({"count": count, "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99),
                      "max_ms": max(lat), "polls_per_record": polls / count}))


def catchup(endpoint, table):
    conn = Conn(endpoint)
    arn = stream_arn(conn, table)
    ids = shards(conn, arn)
    records = nbytes = calls = 0
    t0 = time.perf_counter()
    for sid in ids:
        it = json.loads(conn.streams("GetShardIterator", {
            "StreamArn": arn, "ShardId": sid, "ShardIteratorType": "TRIM_HORIZON"}))["ShardIterator"]
        while it:
            raw = conn.streams("GetRecords", {"ShardIterator": it, "Limit": 1000})
            calls += 1
            nbytes += len(raw)
            n = raw.count(b'"eventID"')
            records += n
            if n == 0:
                break
            # The iterator is the only member needed; avoid parsing the records.
            d = json.loads(raw)
            it = d.get("NextShardIterator")
    secs = time.perf_counter() - t0
    print(json.dumps({"records": records, "seconds": secs, "records_per_s": records / secs,
                      "mb_per_s": nbytes / secs / 1e6, "get_records_calls": calls}))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "e2e":
        e2e(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        catchup(sys.argv[2], sys.argv[3])
