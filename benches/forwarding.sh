#!/usr/bin/env bash
# Forwarded vs owner-direct GetItem, in ONE run, with the bundled load
# generator (benches/wrk/forwarding.sh is the wrk version of the same).
#
# Two shards (shard i pinned to CPU i), the load generator on CPU 1, every
# request sent to shard 0's own port (--shard-port-base): first with keys
# shard 0 owns (served directly), then with keys shard 1 owns (every request
# crosses the mesh: shard 0 parses and answers, shard 1 reads its store).
# Rounds alternate. Server CPU is user + system time of the whole process
# (both shards) from /proc/<pid>/stat over each run, per request attempted.
#
#   benches/forwarding.sh [seconds=8] [rounds=2] [records=10000]
#
# CONNS (default 16) connections, closed loop; RATE=N adds open-loop runs at
# N/s for both key sets (the same rate, so the same batching chance).
# Needs: cargo build --release --workspace; python3; curl.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}; rounds=${2:-2}; records=${3:-10000}; conns=${CONNS:-16}; rate=${RATE:-}
lg=${LOADGEN:-target/release/dynacore-loadgen}; server=${SERVER:-target/release/dynacore}
out=${OUT:-target/forwarding}; rm -rf "$out"; mkdir -p "$out"
port=8061; base=8062; data=target/forwarding-data
tick_us=$((1000000 / $(getconf CLK_TCK)))
rm -rf "$data"
$server serve --admin-listen off --shards 2 --data-dir "$data" --listen 127.0.0.1:$port --shard-port-base $base \
  ${DYNACORE_ARGS:-} >/dev/null 2>"$out/server.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 400); do curl -s -o /dev/null http://127.0.0.1:$port/ && break; sleep 0.05; done
$lg run --endpoint http://127.0.0.1:$port --record-count "$records" --duration 1 --warmup 0 \
  --mix get=100 --cpu-offset 1 --quiet </dev/null >/dev/null 2>"$out/load.err"

cpu_ticks() { awk '{print $14 + $15}' /proc/$pid/stat; }
forwarded() { curl -s --aws-sigv4 aws:amz:us-east-1:dynamodb --user bench:bench http://127.0.0.1:$port/dynacore/metrics | python3 -c \
  "import json,sys; d=json.load(sys.stdin); print(sum(s.get('forwarded_out', 0) for s in d['shards']))"; }
measure() { # keys(own|other) shard shape extra…
  local keys=$1 shard=$2 shape=$3; shift 3
  local json="$out/$keys-$shape-r$r.json" before after f0 f1
  f0=$(forwarded); before=$(cpu_ticks)
  $lg run --endpoint http://127.0.0.1:$base --skip-load --record-count "$records" --mix get=100 \
    --keys-on-shard "$shard" --connections "$conns" --duration "$secs" --warmup 0 --cpu-offset 1 \
    --quiet --json "$json" "$@" </dev/null >/dev/null 2>>"$out/loadgen.err" || true
  after=$(cpu_ticks); f1=$(forwarded)
  echo "$(( (after - before) * tick_us )) $((f1 - f0))" > "${json%.json}.cpu"
}
echo "machine: $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
shapes="closed"; [ -n "$rate" ] && shapes="closed open"
for r in $(seq 1 "$rounds"); do
  for shape in $shapes; do
    extra=(); [ "$shape" = open ] && extra=(--rate "$rate")
    measure own 0 $shape "${extra[@]}"
    measure other 1 $shape "${extra[@]}"
  done
done
echo "RSS after the runs: $(awk '/VmRSS/{print $2" kB"}' /proc/$pid/status); load average $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$out" "$rounds" "$shapes" <<'PY'
import json, sys, os
out, rounds, shapes = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
print("\n| round | load | keys | GetItem/s | p50 ms | p99 ms | errors | forwarded | server CPU µs/request | forwarded ÷ direct |")
print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|")
ratios = {}
for r in range(1, rounds + 1):
    for shape in shapes:
        rows = {}
        for keys in ("own", "other"):
            base = os.path.join(out, f"{keys}-{shape}-r{r}")
            d = json.load(open(base + ".json"))
            cpu, fwd = map(int, open(base + ".cpu").read().split())
            n = max(d["ops"] + d["errors"], 1)
            rows[keys] = (d, cpu / n, fwd / n)
        ratio = rows["other"][1] / rows["own"][1]
        ratios.setdefault(shape, []).append(ratio)
        for keys, (d, c, f) in rows.items():
            a = d["all"]
            load = f"closed, {d['connections']} conns" if shape == "closed" else f"open {d.get('target_rate_ops_per_s') or 0:,.0f}/s"
            label = "shard 0's (direct)" if keys == "own" else "shard 1's (forwarded)"
            print(f"| {r} | {load} | {label} | {d['throughput_ops_per_s']:,.0f} | {a['p50_us']/1000:.3f} | "
                  f"{a['p99_us']/1000:.3f} | {d['errors']} | {f:.0%} | {c:.2f} | {'**%.2f×**' % ratio if keys == 'other' else ''} |")
print()
for shape, rs in ratios.items():
    print(f"{shape:6} forwarded ÷ direct server CPU per GetItem: " + ", ".join(f"{x:.2f}×" for x in rs))
PY
