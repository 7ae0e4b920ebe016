#!/usr/bin/env bash
# Forwarded vs owner-direct GetItem with 2 shards: wrk talks to shard 0's own
# port, first with keys shard 0 owns (no forwarding), then with keys shard 1
# owns (every request crosses the mesh). Alternating rounds.
#   benches/wrk/forwarding.sh [rounds=3] [seconds=5]
set -euo pipefail
cd "$(dirname "$0")/../.."
here=benches/wrk
rounds=${1:-3}; secs=${2:-5}
port=8010; base=8020; data=target/wrk-forward-data
rm -rf "$data"
target/release/dynacore serve --admin-listen off --shards 2 --data-dir "$data" --listen 127.0.0.1:$port --shard-port-base $base ${DYNACORE_ARGS:-} 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:$port/ && break; sleep 0.1; done
python3 $here/setup.py $port >/dev/null
# Split the keys by owner with the server's own published partition map.
python3 - "$port" <<'PY'
import json, sys, urllib.request, xxhash
# Admin endpoints on the data port answer signed requests only (any
# well-formed signature on a server without credentials).
auth = "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00"
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/dynacore/partition-map", headers={"Authorization": auth})
m = json.load(urllib.request.urlopen(req))
end0 = int(m["shards"][0]["hash_end"])
keys = ["key%d" % i for i in range(1000)]
h = lambda k: xxhash.xxh3_64(b"bench\x00S" + k.encode()).intdigest()
for name, sel in (("own", [k for k in keys if h(k) <= end0]), ("other", [k for k in keys if h(k) > end0])):
    with open(f"target/wrk-keys-{name}.lua", "w") as f:
        f.write("keys = {" + ",".join('"%s"' % k for k in sel) + "}\n")
PY
# Server CPU time (user+system, clock ticks) so each run also reports the
# server's CPU per request: on a 2-core host the forwarded case runs three
# busy threads (wrk and two shards) on two cores, so throughput alone
# overstates the cost of the hop.
cpu_ticks() { awk '{print $14 + $15}' /proc/$server/stat; }
tick_us=$((1000000 / $(getconf CLK_TCK)))
for r in $(seq 1 "$rounds"); do
  for set in own other; do
    cat target/wrk-keys-$set.lua $here/get_keys.lua > target/wrk-get-$set.lua
    before=$(cpu_ticks)
    out=$(wrk -t1 -c16 -d"${secs}"s --latency -s target/wrk-get-$set.lua http://127.0.0.1:$base/)
    after=$(cpu_ticks)
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    cpu_per_req=$(( (after - before) * tick_us * 100 / (requests > 0 ? requests : 1) ))
    echo "round=$r keys=$set rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}') p50=$(echo "$out" | awk '$1=="50%" {print $2}') p99=$(echo "$out" | awk '$1=="99%" {print $2}') server_cpu_per_request_us=$((cpu_per_req / 100)).$((cpu_per_req % 100))"
  done
done
curl -s --aws-sigv4 aws:amz:us-east-1:dynamodb --user bench:bench http://127.0.0.1:$port/dynacore/metrics; echo
