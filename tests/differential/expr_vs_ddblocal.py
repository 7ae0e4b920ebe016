#!/usr/bin/env python3
"""Differential test of the expression engine: the same FilterExpressions and
random UpdateExpressions and random Queries (key conditions, direction,
Limit paging, filters) against Dynacore and DynamoDB Local (the closest
oracle for DynamoDB's validation order and messages), printing every
difference. Start both servers first (target/debug/dynacore serve ...;
/work/shared/peers/peers.sh start ddblocal), then:

    DYNACORE=http://127.0.0.1:8765/ DDBLOCAL=http://127.0.0.1:8003/ \
        python3 tests/differential/expr_vs_ddblocal.py <fresh-table-name> [seed] [rounds]

Known, deliberate differences: DynamoDB Local prints "2.0" for arithmetic
results (DynamoDB trims zeros), and picks an odd pair of paths in some
"Two document paths overlap" messages; both are filtered out or expected.
Also expected, where DynamoDB Local departs from DynamoDB: an update whose
actions all remove (REMOVE, DELETE) creates no missing item, and
UPDATED_OLD/UPDATED_NEW return only the updated paths (DynamoDB Local
returns whole top-level attributes).
"""
import json, random, sys, urllib.request
seed = int(sys.argv[2]) if len(sys.argv) > 2 else random.randrange(1 << 30)
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 200
def call(url, op, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810." + op,
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=abc"})
    try:
        r = json.loads(urllib.request.urlopen(req).read())
    except urllib.error.HTTPError as e:
        r = json.loads(e.read())
    if "Message" in r: r["message"] = r.pop("Message")
    if "__type" in r: r["__type"] = r["__type"].split("#")[-1]
    r.pop("ConsumedCapacity", None)
    return r
import os
A = os.environ.get("DYNACORE", "http://127.0.0.1:8765/"); B = os.environ.get("DDBLOCAL", "http://127.0.0.1:8003/")
T = sys.argv[1]
setup = [
 ("CreateTable", {"TableName":T,"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"BillingMode":"PAY_PER_REQUEST"}),
]
for op, body in setup:
    call(A, op, body); call(B, op, body)
import time; time.sleep(1)

# ---- filters ----

items = [
 {"pk":{"S":"a"},"sk":{"N":"1"},"s":{"S":"hello"},"n":{"N":"10"},"b":{"B":"AQID"},"ss":{"SS":["x","y"]},"ns":{"NS":["1","2"]},"bs":{"BS":["AQ=="]},"l":{"L":[{"S":"x"},{"N":"1"},{"M":{"k":{"S":"v"}}}]},"m":{"M":{"k":{"S":"v"},"n":{"N":"1"}}},"t":{"BOOL":True},"z":{"NULL":True}},
 {"pk":{"S":"b"},"sk":{"N":"2"},"s":{"S":"help"},"n":{"N":"-3.5"},"b":{"B":"AQ=="},"ss":{"SS":["y"]},"l":{"L":[]},"m":{"M":{}},"t":{"BOOL":False}},
 {"pk":{"S":"c"},"sk":{"N":"3"},"s":{"S":""},"n":{"S":"10"},"x":{"N":"1E+5"}},
 {"pk":{"S":"d"},"sk":{"N":"4"}},
]
for it in items:
    for u in (A, B): call(u, "PutItem", {"TableName":T,"Item":it})
V = {":s":{"S":"hel"},":n":{"N":"10"},":ns":{"S":"10"},":b":{"B":"AQ=="},":x":{"S":"x"},":y":{"S":"y"},":one":{"N":"1"},":z":{"N":"0"},":t":{"BOOL":True},":tn":{"S":"N"},":tl":{"S":"L"},":l":{"L":[]},":m":{"M":{"k":{"S":"v"}}},":big":{"N":"100000"},":e":{"S":""},":set":{"SS":["x","y"]},":set2":{"SS":["y","x"]},":nul":{"NULL":True}}
filters = ["s > :s","s < :s","begins_with(s, :s)","begins_with(b, :b)","contains(s, :e)","contains(ss, :x)","contains(ns, :one)","contains(l, :x)","contains(l, :one)","contains(b, :b)","contains(bs, :b)",
 "n = :n","n = :ns","n <> :n","n > :z","n < :z","n BETWEEN :z AND :n","n IN (:n, :ns)","attribute_type(n, :tn)","attribute_type(l, :tl)",
 "size(s) > :z","size(s) = :z","size(l) = :z","size(m) = :one","size(ss) = :one","size(n) > :z","size(b) = :one","size(x) > :z",
 "t = :t","t <> :t","z = :nul","l = :l","m.k = :x","m = :m","ss = :set2","l[2].k = :m","l[0] = :x","attribute_exists(l[2].k)","attribute_not_exists(m.n)",
 "x = :big","NOT (n = :n OR s = :e)","NOT attribute_exists(z)","contains(m, :x)","begins_with(n, :ns)","s >= :e","b > :b","ss > :set","x <> :one"]
bad = 0
for f in filters:
    names = [k for k in V if k in f.replace("(", " ").replace(")", " ").replace(",", " ").split()]
    body = {"TableName":T,"FilterExpression":f,"ExpressionAttributeValues":{k:V[k] for k in names}}
    a = call(A, "Scan", body); b = call(B, "Scan", body)
    ka = sorted(i["pk"]["S"] for i in a.get("Items",[])) if "Items" in a else a
    kb = sorted(i["pk"]["S"] for i in b.get("Items",[])) if "Items" in b else b
    if ka != kb:
        bad += 1
        print("DIFF", f, "\n   ours:", ka, "\n   ddbl:", kb)
print("filters", len(filters), "diffs", bad)

# ---- random updates ----

rng = random.Random(seed); print("seed", seed)
K = {"pk":{"S":"r"},"sk":{"N":"1"}}
vals = {":n":{"N":"2"},":m":{"N":"-0.5"},":s":{"S":"v"},":l":{"L":[{"N":"9"}]},":ss":{"SS":["a","z"]},":ns":{"NS":["1","7"]},":e":{"M":{}},":b":{"BOOL":True}}
paths = ["a","b","c","l","l[0]","l[1]","l[5]","m","m.x","m.y","m.x.z","s","ns","ss"]
operands = ["a","b","l[0]","m.x",":n",":m",":s",":l","if_not_exists(a, :n)","if_not_exists(c, :l)","list_append(l, :l)","list_append(:l, c)"]
def gen():
    used = set(); parts = []
    sections = rng.sample(["SET","REMOVE","ADD","DELETE"], rng.randint(1,3))
    for sec in sections:
        acts = []
        for _ in range(rng.randint(1,2)):
            p = rng.choice(paths)
            if sec == "SET":
                v = rng.choice(operands)
                if rng.random() < 0.3: v = f"{v} {rng.choice(['+','-'])} {rng.choice(operands)}"
                acts.append(f"{p} = {v}")
            elif sec == "REMOVE": acts.append(p)
            elif sec == "ADD": acts.append(f"{p} {rng.choice([':n',':m',':ss',':ns',':s'])}")
            else: acts.append(f"{p} {rng.choice([':ss',':ns',':n'])}")
        parts.append(sec + " " + ", ".join(acts))
    return " ".join(parts)
def norm(r):
    return json.loads(json.dumps(r).replace('.0"','"'))
def setnorm(o):
    if isinstance(o, dict):
        return {k:(sorted(v) if k in ("SS","NS") else setnorm(v)) for k,v in o.items()}
    if isinstance(o, list): return [setnorm(x) for x in o]
    return o
diffs = 0
for i in range(int(sys.argv[3]) if len(sys.argv) > 3 else 200):
    base = {**K, "a":{"N":"1"}, "l":{"L":[{"N":"0"},{"S":"one"}]}, "m":{"M":{"x":{"N":"3"}}}, "ss":{"SS":["a","b"]}, "ns":{"NS":["1"]}, "s":{"S":"str"}}
    if rng.random() < 0.2: base = dict(K)
    u = gen()
    used = {k:v for k,v in vals.items() if k in u.replace(","," ").replace(")"," ").replace("("," ").split()}
    body = {"TableName":T,"Key":K,"UpdateExpression":u,"ReturnValues":rng.choice(["ALL_NEW","UPDATED_OLD","UPDATED_NEW","ALL_OLD"])}
    if used: body["ExpressionAttributeValues"] = used
    res = []
    for url in (A, B):
        call(url, "DeleteItem", {"TableName":T,"Key":K})
        if len(base) > 2: call(url, "PutItem", {"TableName":T,"Item":base})
        r = call(url, "UpdateItem", body)
        g = call(url, "GetItem", {"TableName":T,"Key":K,"ConsistentRead":True})
        res.append(setnorm(norm([r, g])))
    ov = lambda r: isinstance(r[0], dict) and "overlap" in r[0].get("message","")
    if res[0] != res[1] and not (ov(res[0]) and ov(res[1])):
        diffs += 1
        if diffs <= 8:
            print("DIFF", body["ReturnValues"], "|", u, "| base", "full" if len(base)>2 else "key-only")
            print("   ours:", json.dumps(res[0])[:350]); print("   ddbl:", json.dumps(res[1])[:350])
print("diffs", diffs)

# ---- random queries ----

rng = random.Random(seed)
TS = T + "s"
for u in (A, B):
    call(u, "CreateTable", {"TableName":TS,"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"BillingMode":"PAY_PER_REQUEST"})
import time; time.sleep(1)
nums = sorted(set(rng.choice(["-1e3","-12.5","-1","0","0.001","1","1.5","2","10","100","99.99","1e20","-0.5"]) for _ in range(12)))
strs = sorted(set(rng.choice(["","a","a/b","a/c","ab","b","B","é","z","zz","a\u0000"]) for _ in range(10)) - {""})
for u in (A, B):
    for p in ["p1","p2"]:
        for n in nums: call(u, "PutItem", {"TableName":T,"Item":{"pk":{"S":p},"sk":{"N":n},"v":{"N":str(len(n))}}})
        for s in strs: call(u, "PutItem", {"TableName":TS,"Item":{"pk":{"S":p},"sk":{"S":s},"v":{"N":str(len(s))}}})
diffs = 0
for i in range(rounds):
    numeric = rng.random() < 0.5
    table = T if numeric else TS
    vals = nums if numeric else strs
    t = "N" if numeric else "S"
    op = rng.choice(["=","<","<=",">",">=","BETWEEN","begins_with",None])
    ev = {":p":{"S":rng.choice(["p1","p2","p3"])}}
    kc = "pk = :p"
    if op == "BETWEEN":
        a, b = sorted(rng.sample(vals, 2), key=(float if numeric else (lambda x: x.encode())))
        ev[":a"] = {t:a}; ev[":b"] = {t:b}; kc += " AND sk BETWEEN :a AND :b"
    elif op == "begins_with":
        if numeric: continue
        ev[":a"] = {"S": rng.choice(["a","a/","b","z",""]) or "a"}; kc += " AND begins_with(sk, :a)"
    elif op:
        ev[":a"] = {t: rng.choice(vals + (["5"] if numeric else ["aa"]))}; kc += f" AND sk {op} :a"
    body = {"TableName":table,"KeyConditionExpression":kc,"ExpressionAttributeValues":ev,"ScanIndexForward":rng.random()<0.5}
    if rng.random() < 0.5: body["Limit"] = rng.randint(1,4)
    if rng.random() < 0.3:
        body["FilterExpression"] = "v > :f"; body["ExpressionAttributeValues"][":f"] = {"N": str(rng.randint(0,4))}
    out = []
    for u in (A, B):
        items = []; esk = None; pages = 0
        while True:
            b = dict(body)
            if esk: b["ExclusiveStartKey"] = esk
            r = call(u, "Query", b); pages += 1
            if "Items" not in r: items = r; break
            items += [x["sk"] for x in r["Items"]]
            esk = r.get("LastEvaluatedKey")
            if not esk or pages > 50: break
        out.append(items)
    if out[0] != out[1]:
        diffs += 1
        if diffs < 6: print("DIFF", json.dumps(body)[:200], "\n   ours:", out[0], "\n   ddbl:", out[1])
print("queries", rounds, "diffs", diffs)
