#!/usr/bin/env bash
# Server CPU per GetItem: Dynacore against bare responders, in ONE run.
#
# Baselines, each pinned to the same CPU as Dynacore (CPU 0; the load
# generator runs on CPU 1), rounds alternating between the three:
#  - bare:  benches/tools/bare_epoll.c, one epoll thread answering every
#           request with a fixed reply: Dynacore's own GetItem reply for one
#           of the loaded items, headers and all, captured at start-up. The
#           least a server can do per request on Linux sockets.
#  - glommio: `dynacore-loadgen fake-server`, a glommio executor framing
#           with httparse and writing a canned 10 × 100 B GetItem reply: the
#           floor of Dynacore's own runtime (io_uring, task wake-ups).
#  - nometrics: Dynacore again, with `metrics_enabled = false` and
#           `[capacity] enforce = false` (its own data directory, loaded the
#           same way): "Dynacore ÷ nometrics" is the CPU overhead of request
#           metrics and capacity enforcement per GetItem (target < 1.03×).
# CPU is user + system time of each server process from /proc/<pid>/stat
# over its measured run, divided by the requests the load generator
# attempted in that run (every server is idle between its runs).
#
#   benches/get_cpu.sh [seconds=10] [rounds=2] [records=10000]
#
# Two load shapes: closed loop at 16 connections (each server's peak), and
# open loop at the same fixed RATE for all (default 8000/s) so each sees the
# same request rate, hence the same chance to batch per wake-up.
# Needs: cargo build --release --workspace; cc; python3; taskset; curl.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}; rounds=${2:-2}; records=${3:-10000}; rate=${RATE:-8000}
lg=${LOADGEN:-target/release/dynacore-loadgen}; server=${SERVER:-target/release/dynacore}
out=${OUT:-target/get-cpu}; rm -rf "$out"; mkdir -p "$out"
dport=8031; gport=8032; bport=8033; nport=8034; data=target/get-cpu-data; ndata=target/get-cpu-data-nometrics
tick_us=$((1000000 / $(getconf CLK_TCK)))
cc -O2 -o "$out/bare_epoll" benches/tools/bare_epoll.c

rm -rf "$data" "$ndata"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$data" "$ndata"' EXIT
printf 'metrics_enabled = false\n[capacity]\nenforce = false\n' > "$out/nometrics.toml"
taskset -c 0 $server serve --admin-listen off --shards 1 --data-dir "$ndata" --listen 127.0.0.1:$nport \
  --config "$out/nometrics.toml" 2>"$out/server-nometrics.err" &
npid=$!; pids+=($npid)
taskset -c 0 $server serve --admin-listen off --shards 1 --data-dir "$data" --listen 127.0.0.1:$dport 2>"$out/server.err" &
dpid=$!; pids+=($dpid)
taskset -c 0 $lg fake-server --listen 127.0.0.1:$gport --no-pin 2>"$out/fake.err" &
gpid=$!; pids+=($gpid)
for p in $dport $gport $nport; do
  for _ in $(seq 1 400); do curl -s -o /dev/null http://127.0.0.1:$p/ && break; sleep 0.05; done
done
# Load the records once (10 fields × 100 B, loadgen's default shape).
$lg run --endpoint http://127.0.0.1:$dport --record-count "$records" --duration 1 --warmup 0 \
  --mix get=100 --cpu-offset 1 --quiet >/dev/null 2>"$out/load.err"
$lg run --endpoint http://127.0.0.1:$nport --record-count "$records" --duration 1 --warmup 0 \
  --mix get=100 --cpu-offset 1 --quiet >/dev/null 2>>"$out/load.err"
# Capture one real GetItem reply, byte for byte, for the epoll responder.
python3 - $dport "$out/reply.bin" <<'PY'
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
def call(op, body):
    body = json.dumps(body).encode()
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810." + op + b"\r\n"
              b"Content-Type: application/x-amz-json-1.0\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(rest) < n:
        rest += s.recv(65536)
    return head + b"\r\n\r\n", rest
_, scan = call(b"Scan", {"TableName": "usertable", "Limit": 1})
key = {"pk": json.loads(scan)["Items"][0]["pk"]}
head, body = call(b"GetItem", {"TableName": "usertable", "Key": key})
assert b'"Item"' in body, body
open(sys.argv[2], "wb").write(head + body)
PY
taskset -c 0 "$out/bare_epoll" $bport "$out/reply.bin" &
bpid=$!; pids+=($bpid)
for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:$bport/ && break; sleep 0.05; done

cpu_ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
measure() { # name pid port shape extra…
  local name=$1 pid=$2 port=$3 shape=$4; shift 4
  local json="$out/$name-$shape-r$r.json" before after
  before=$(cpu_ticks "$pid")
  $lg run --endpoint http://127.0.0.1:$port --skip-load --record-count "$records" --mix get=100 \
    --connections 16 --duration "$secs" --warmup 0 --cpu-offset 1 --quiet --json "$json" "$@" \
    >/dev/null 2>>"$out/loadgen.err" || true
  after=$(cpu_ticks "$pid")
  echo "$(( (after - before) * tick_us ))" > "${json%.json}.cpu_us"
}
echo "machine: $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
echo "reply: $(wc -c < "$out/reply.bin") bytes (Dynacore's GetItem reply for one loaded item)"
for r in $(seq 1 "$rounds"); do
  for shape in closed open; do
    extra=(); [ $shape = open ] && extra=(--rate "$rate")
    measure dynacore $dpid $dport $shape "${extra[@]}"
    measure bare $bpid $bport $shape "${extra[@]}"
    measure glommio $gpid $gport $shape "${extra[@]}"
    measure nometrics $npid $nport $shape "${extra[@]}"
  done
done
echo "dynacore RSS after the runs: $(awk '/VmRSS/{print $2" kB"}' /proc/$dpid/status)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$out" "$rounds" <<'PY'
import json, sys, os
out, rounds = sys.argv[1], int(sys.argv[2])
def row(name, shape, r):
    base = os.path.join(out, f"{name}-{shape}-r{r}")
    d = json.load(open(base + ".json"))
    cpu = int(open(base + ".cpu_us").read())
    return d, cpu / max(d["ops"] + d["errors"], 1)
print("\n| round | load | server | GetItem/s | p50 ms | p99 ms | errors | server CPU µs/request | Dynacore ÷ this |")
print("|---:|---|---|---:|---:|---:|---:|---:|---:|")
ratios = {}
for r in range(1, rounds + 1):
    for shape in ("closed", "open"):
        rows = {n: row(n, shape, r) for n in ("dynacore", "bare", "glommio", "nometrics")}
        dc = rows["dynacore"][1]
        for name, (d, c) in rows.items():
            a = d["all"]
            load = "closed, 16 conns" if shape == "closed" else f"open {d.get('target_rate_ops_per_s') or 0:,.0f}/s"
            ratio = "" if name == "dynacore" else f"{dc / c:.2f}×"
            if name != "dynacore":
                ratios.setdefault((shape, name), []).append(dc / c)
            print(f"| {r} | {load} | {name} | {d['throughput_ops_per_s']:,.0f} | {a['p50_us']/1000:.3f} | "
                  f"{a['p99_us']/1000:.3f} | {d['errors']} | {c:.2f} | {ratio} |")
print()
for (shape, name), rs in ratios.items():
    print(f"{shape:6} Dynacore CPU per GetItem ÷ {name:7}: " + ", ".join(f"{x:.2f}×" for x in rs))
PY
