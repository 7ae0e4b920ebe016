#!/usr/bin/env bash
# Server CPU per GetItem over TLS vs plaintext, and per TLS handshake, in
# ONE run against ONE server process (1 shard pinned to CPU 0, the load
# generator on CPU 1), so every ratio compares like with like.
#
#   benches/tls_cpu.sh [seconds=10] [rounds=2] [records=10000]
#
# - GetItem: `dynacore-loadgen run --mix get=100`, 16 keep-alive
#   connections, closed loop and open loop at RATE (default 8000/s),
#   alternating plaintext (--listen) and TLS (--tls-listen, `--ca`) rounds.
#   Connections are dialed once, so the TLS rows are record costs (AES-GCM
#   and framing per request/reply), not handshakes.
# - Handshakes: `openssl s_time -new` (a full handshake per connection, no
#   resumption: the server offers none) fetching `GET /` over each, for
#   SECONDS; ECDSA P-256 certificate, TLS 1.3 (X25519) as negotiated.
# CPU is user + system time of the server from /proc/<pid>/stat over each
# measured run, divided by requests attempted (or connections made).
# Needs: cargo build --release --workspace; openssl; python3; taskset; curl.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}; rounds=${2:-2}; records=${3:-10000}; rate=${RATE:-8000}
lg=${LOADGEN:-target/release/dynacore-loadgen}; server=${SERVER:-target/release/dynacore}
out=${OUT:-target/tls-cpu}; rm -rf "$out"; mkdir -p "$out"
pport=8041; tport=8042; data=target/tls-cpu-data
tick_us=$((1000000 / $(getconf CLK_TCK)))

( cd "$out"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
    -out ca.pem -days 2 -subj "/CN=bench CA" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
    -out server.csr -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > ext.cnf
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
    -days 2 -extfile ext.cnf 2>/dev/null )

rm -rf "$data"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$data"' EXIT
taskset -c 0 $server serve --admin-listen off --shards 1 --data-dir "$data" --listen 127.0.0.1:$pport \
  --tls-listen 127.0.0.1:$tport --tls-cert "$out/server.pem" --tls-key "$out/server.key" \
  2>"$out/server.err" &
spid=$!; pids+=($spid)
for _ in $(seq 1 400); do curl -s -o /dev/null http://127.0.0.1:$pport/ && break; sleep 0.05; done
$lg run --endpoint http://127.0.0.1:$pport --record-count "$records" --duration 1 --warmup 0 \
  --mix get=100 --cpu-offset 1 --quiet >/dev/null 2>"$out/load.err"

cpu_ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
measure() { # name endpoint shape extra…
  local name=$1 endpoint=$2 shape=$3; shift 3
  local json="$out/$name-$shape-r$r.json" before after
  before=$(cpu_ticks "$spid")
  $lg run --endpoint "$endpoint" --ca "$out/ca.pem" --skip-load --record-count "$records" \
    --mix get=100 --connections 16 --duration "$secs" --warmup 0 --cpu-offset 1 --quiet \
    --json "$json" "$@" >/dev/null 2>>"$out/loadgen.err" || true
  after=$(cpu_ticks "$spid")
  echo "$(( (after - before) * tick_us ))" > "${json%.json}.cpu_us"
}
handshakes() { # round
  local before after n
  before=$(cpu_ticks "$spid")
  n=$(taskset -c 1 openssl s_time -connect 127.0.0.1:$tport -new -time "$secs" -CAfile "$out/ca.pem" \
        -www / 2>/dev/null | awk '/connections in/ && /real seconds/ {print $1; exit}')
  after=$(cpu_ticks "$spid")
  echo "$n $(( (after - before) * tick_us ))" > "$out/handshake-r$1.txt"
}
echo "machine: $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
for r in $(seq 1 "$rounds"); do
  for shape in closed open; do
    extra=(); [ $shape = open ] && extra=(--rate "$rate")
    measure plain http://127.0.0.1:$pport $shape "${extra[@]}"
    measure tls https://localhost:$tport $shape "${extra[@]}"
  done
  handshakes "$r"
done
echo "server RSS after the runs: $(awk '/VmRSS/{print $2" kB"}' /proc/$spid/status)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$out" "$rounds" <<'PY'
import json, sys, os
out, rounds = sys.argv[1], int(sys.argv[2])
def row(name, shape, r):
    base = os.path.join(out, f"{name}-{shape}-r{r}")
    d = json.load(open(base + ".json"))
    cpu = int(open(base + ".cpu_us").read())
    return d, cpu / max(d["ops"] + d["errors"], 1)
print("\n| round | load | transport | GetItem/s | p50 ms | p99 ms | errors | server CPU µs/request | TLS ÷ plain |")
print("|---:|---|---|---:|---:|---:|---:|---:|---:|")
ratios = {}
plain_cpu = []
for r in range(1, rounds + 1):
    for shape in ("closed", "open"):
        rows = {n: row(n, shape, r) for n in ("plain", "tls")}
        pc = rows["plain"][1]
        plain_cpu.append(pc)
        for name, (d, c) in rows.items():
            a = d["all"]
            load = "closed, 16 conns" if shape == "closed" else f"open {d.get('target_rate_ops_per_s') or 0:,.0f}/s"
            ratio = "" if name == "plain" else f"{c / pc:.2f}×"
            if name == "tls":
                ratios.setdefault(shape, []).append(c / pc)
            print(f"| {r} | {load} | {name} | {d['throughput_ops_per_s']:,.0f} | {a['p50_us']/1000:.3f} | "
                  f"{a['p99_us']/1000:.3f} | {d['errors']} | {c:.2f} | {ratio} |")
print()
for shape, rs in ratios.items():
    print(f"{shape:6} server CPU per GetItem, TLS ÷ plaintext: " + ", ".join(f"{x:.2f}×" for x in rs))
for r in range(1, rounds + 1):
    n, cpu = open(os.path.join(out, f"handshake-r{r}.txt")).read().split()
    n, cpu = int(n or 0), int(cpu)
    per = cpu / max(n, 1)
    print(f"round {r}: {n} full handshakes (+ GET /) (openssl s_time): server CPU {per:.0f} µs per connection "
          f"= {per / (sum(plain_cpu) / len(plain_cpu)):.1f} plaintext GetItems")
PY
