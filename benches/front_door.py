#!/usr/bin/env python3
"""Adversarial connection patterns against a running Dynacore (benches/front_door.sh).

Usage: front_door.py PORT PID MODE [N]
  idle N       open N idle connections, print server RSS, close them
  scans N      create a 12 x 100 KB table; N connections each pipeline 50
               1 MB Scans and never read; print the peak server RSS over 10 s
  loris N      hold N slow-loris connections (one header byte per second,
               reconnecting when the server cuts one off) for LORIS_SECS
               seconds (default 30); print server RSS after 5 s
"""
import json, os, socket, sys, time, urllib.request

port, pid, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 1000


def rss_mb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def call(op, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=json.dumps(body).encode(),
        headers={"X-Amz-Target": f"DynamoDB_20120810.{op}", "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00",
                 "Content-Type": "application/x-amz-json-1.0"})
    try:
        return urllib.request.urlopen(req, timeout=60).read()
    except urllib.error.HTTPError as e:
        return e.read()


def raw(op, body):
    b = json.dumps(body).encode()
    return (f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.{op}\r\n"
            f"Authorization: AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Type: application/x-amz-json-1.0\r\n"
            f"Content-Length: {len(b)}\r\n\r\n").encode() + b


def connect():
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    return s


if mode == "idle":
    socks = [connect() for _ in range(n)]
    time.sleep(2)
    print(f"RSS with {n} idle connections: {rss_mb():.1f} MB")
    for s in socks:
        s.close()
elif mode == "scans":
    call("CreateTable", {"TableName": "big", "BillingMode": "PAY_PER_REQUEST",
         "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
         "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]})
    for i in range(12):
        call("PutItem", {"TableName": "big", "Item": {"pk": {"S": f"k{i}"}, "blob": {"S": "x" * 100_000}}})
    before = rss_mb()
    req = raw("Scan", {"TableName": "big"}) * 50
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(req)
        socks.append(s)
    peak = 0.0
    end = time.time() + 10
    while time.time() < end:
        peak = max(peak, rss_mb())
        time.sleep(0.1)
    print(f"RSS with {n} connections pipelining 50 x 1 MB Scans unread: peak {peak:.1f} MB (before {before:.1f} MB)")
    for s in socks:
        s.close()
elif mode == "loris":
    secs = float(os.environ.get("LORIS_SECS", "30"))
    head = b"POST / HTTP/1.1\r\nHost: x\r\n"
    socks, cut = [], 0
    for _ in range(n):
        s = connect()
        try:
            s.send(head)
        except OSError:
            pass
        socks.append(s)
    start, reported = time.time(), False
    while time.time() - start < secs:
        for i, s in enumerate(socks):
            try:
                s.send(b"X")
                s.recv(4096)  # a 408, or EOF once the deadline cut us off
                s.close()
                cut += 1
                socks[i] = connect()
                socks[i].send(head)
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                cut += 1
                socks[i] = connect()
        if not reported and time.time() - start > 5:
            print(f"RSS with {n} slow-loris connections: {rss_mb():.1f} MB", flush=True)
            reported = True
        time.sleep(1)
    print(f"slow-loris connections cut off by the request deadline (and reopened): {cut}")
    for s in socks:
        s.close()
