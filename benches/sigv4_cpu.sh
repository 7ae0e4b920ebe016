#!/usr/bin/env bash
# Server CPU per GetItem with SigV4 verification on vs off, in ONE run.
#
# Two Dynacore servers, each 1 shard pinned to CPU 0 (the load generator on
# CPU 1), rounds alternating between them, same data shape:
#  - off: no --credentials (loopback): the Authorization header is only
#         parsed for well-formedness (DynamoDB Local's behaviour);
#  - on:  --credentials with the load generator's key: every request's
#         signature is verified (canonical request, SHA-256 of the body,
#         HMAC with the cached signing key, constant-time compare).
# CPU is user + system time of each server from /proc/<pid>/stat over its
# measured run, divided by the requests the load generator attempted.
#
#   benches/sigv4_cpu.sh [seconds=10] [rounds=3] [records=10000]
# Needs: cargo build --release --workspace; python3; taskset; curl.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}; rounds=${2:-3}; records=${3:-10000}
lg=${LOADGEN:-target/release/dynacore-loadgen}; server=${SERVER:-target/release/dynacore}
out=${OUT:-target/sigv4-cpu}; rm -rf "$out"; mkdir -p "$out"
offport=8041; onport=8042; data=target/sigv4-cpu-data
tick_us=$((1000000 / $(getconf CLK_TCK)))
rm -rf "$data"; mkdir -p "$data"
cat > "$out/credentials.toml" <<'TOML'
[[credentials]]
access_key_id = "AKIDBENCH"
secret_access_key = "bench-secret"
TOML
export AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench-secret
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$data"' EXIT
taskset -c 0 $server serve --admin-listen off --shards 1 --data-dir "$data/off" --listen 127.0.0.1:$offport 2>"$out/off.err" &
offpid=$!; pids+=($offpid)
taskset -c 0 $server serve --admin-listen off --shards 1 --data-dir "$data/on" --listen 127.0.0.1:$onport \
  --credentials "$out/credentials.toml" 2>"$out/on.err" &
onpid=$!; pids+=($onpid)
for p in $offport $onport; do
  for _ in $(seq 1 400); do curl -s -o /dev/null http://127.0.0.1:$p/ && break; sleep 0.05; done
  $lg run --endpoint http://127.0.0.1:$p --record-count "$records" --duration 1 --warmup 0 \
    --mix get=100 --cpu-offset 1 --quiet >/dev/null 2>>"$out/load.err"
done
cpu_ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
measure() { # name pid port
  local name=$1 pid=$2 port=$3 json="$out/$1-r$r.json" before after
  before=$(cpu_ticks "$pid")
  $lg run --endpoint http://127.0.0.1:$port --skip-load --record-count "$records" --mix get=100 \
    --connections 16 --duration "$secs" --warmup 0 --cpu-offset 1 --quiet --json "$json" \
    >/dev/null 2>>"$out/loadgen.err" || true
  after=$(cpu_ticks "$pid")
  echo "$(( (after - before) * tick_us ))" > "${json%.json}.cpu_us"
}
echo "machine: $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
for r in $(seq 1 "$rounds"); do
  measure off $offpid $offport
  measure on $onpid $onport
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out" "$rounds" <<'PY'
import json, sys, os
out, rounds = sys.argv[1], int(sys.argv[2])
print("| round | verification | GetItem/s | p50 ms | p99 ms | errors | server CPU µs/request |")
print("|---:|---|---:|---:|---:|---:|---:|")
ratios, deltas = [], []
for r in range(1, rounds + 1):
    cpu = {}
    for name in ("off", "on"):
        base = os.path.join(out, f"{name}-r{r}")
        d = json.load(open(base + ".json"))
        cpu[name] = int(open(base + ".cpu_us").read()) / max(d["ops"] + d["errors"], 1)
        a = d["all"]
        print(f"| {r} | {name} | {d['throughput_ops_per_s']:,.0f} | {a['p50_us']/1000:.3f} | "
              f"{a['p99_us']/1000:.3f} | {d['errors']} | {cpu[name]:.2f} |")
    ratios.append(cpu["on"] / cpu["off"]); deltas.append(cpu["on"] - cpu["off"])
print()
print("CPU per GetItem, on ÷ off: " + ", ".join(f"{x:.3f}×" for x in ratios))
print("CPU per GetItem, on − off: " + ", ".join(f"{x:+.2f} µs" for x in deltas))
PY
