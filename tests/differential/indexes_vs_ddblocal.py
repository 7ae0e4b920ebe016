#!/usr/bin/env python3
"""Secondary-index requests sent to Dynacore and to DynamoDB Local side by
side; prints every difference in HTTP status, __type or message.

    ../shared/peers/peers.sh start ddblocal
    target/release/dynacore serve --data-dir target/diff-idx --listen 127.0.0.1:8050 &
    python3 tests/differential/indexes_vs_ddblocal.py [dynacore=http://127.0.0.1:8050] [ddblocal=http://127.0.0.1:8003]

Not part of `cargo test` (DynamoDB Local is a Java download). DynamoDB Local
is not DynamoDB (see ../shared/peers/README.md); a difference is a question
to settle against the API reference, not automatically a bug.
"""
import json
import sys
import urllib.request

A = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8050"
B = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:8003"


def call(endpoint, op, body):
    req = urllib.request.Request(
        endpoint + "/",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810." + op,
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00",
        },
    )
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def attr(name, t):
    return {"AttributeName": name, "AttributeType": t}


def key(name, t):
    return {"AttributeName": name, "KeyType": t}


ALL = {"ProjectionType": "ALL"}
KEYS = {"ProjectionType": "KEYS_ONLY"}


def table(name, defs, keys, lsis=None, gsis=None):
    body = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": defs,
        "KeySchema": keys,
    }
    if lsis is not None:
        body["LocalSecondaryIndexes"] = lsis
    if gsis is not None:
        body["GlobalSecondaryIndexes"] = gsis
    return body


BASE_DEFS = [attr("pk", "S"), attr("sk", "S"), attr("g", "S"), attr("l", "N")]
BASE_KEYS = [key("pk", "HASH"), key("sk", "RANGE")]
GOOD = table(
    "idx",
    BASE_DEFS,
    BASE_KEYS,
    lsis=[{"IndexName": "byL", "KeySchema": [key("pk", "HASH"), key("l", "RANGE")], "Projection": KEYS}],
    gsis=[{"IndexName": "byG", "KeySchema": [key("g", "HASH")], "Projection": KEYS}],
)

CASES = [
    ("CreateTable", table("tab1", [attr("pk", "S"), attr("l", "N")], [key("pk", "HASH")],
                          lsis=[{"IndexName": "byL", "KeySchema": [key("pk", "HASH"), key("l", "RANGE")], "Projection": ALL}])),
    ("CreateTable", table("tab2", BASE_DEFS, BASE_KEYS,
                          lsis=[{"IndexName": "byL", "KeySchema": [key("g", "HASH"), key("l", "RANGE")], "Projection": ALL}])),
    ("CreateTable", table("tab3", BASE_DEFS[:3], BASE_KEYS,
                          gsis=[{"IndexName": "byG", "KeySchema": [key("g", "HASH")]}])),
    ("CreateTable", table("tab4", BASE_DEFS[:3], BASE_KEYS,
                          gsis=[{"IndexName": "byG", "KeySchema": [key("g", "HASH")],
                                 "Projection": {"ProjectionType": "KEYS_ONLY", "NonKeyAttributes": ["x"]}}])),
    ("CreateTable", table("tab5", BASE_DEFS[:3], BASE_KEYS,
                          gsis=[{"IndexName": "byG", "KeySchema": [key("g", "HASH")], "Projection": ALL},
                                {"IndexName": "byG", "KeySchema": [key("g", "HASH")], "Projection": ALL}])),
    ("CreateTable", table("tab6", BASE_DEFS, BASE_KEYS,
                          gsis=[{"IndexName": "byG", "KeySchema": [key("g", "HASH")], "Projection": ALL}])),
    ("CreateTable", table("tab7", BASE_DEFS[:3], BASE_KEYS,
                          gsis=[{"IndexName": "g", "KeySchema": [key("g", "HASH")], "Projection": ALL}])),
    ("CreateTable", table("tab8", BASE_DEFS[:3], BASE_KEYS,
                          gsis=[{"IndexName": "byG", "KeySchema": [key("zz", "HASH")], "Projection": ALL}])),
    ("CreateTable", table("tab9", BASE_DEFS[:3], BASE_KEYS,
                          gsis=[{"IndexName": "byG", "KeySchema": [key("g", "RANGE")], "Projection": ALL}])),
    ("CreateTable", GOOD),
    ("PutItem", {"TableName": "idx", "Item": {"pk": {"S": "a"}, "sk": {"S": "1"}, "g": {"N": "1"}}}),
    ("PutItem", {"TableName": "idx", "Item": {"pk": {"S": "a"}, "sk": {"S": "1"}, "l": {"S": "x"}}}),
    ("PutItem", {"TableName": "idx", "Item": {"pk": {"S": "a"}, "sk": {"S": "1"}, "g": {"S": ""}}}),
    ("PutItem", {"TableName": "idx", "Item": {"pk": {"S": "a"}, "sk": {"S": "1"}, "g": {"S": "v"}, "l": {"N": "1"}, "x": {"S": "x"}}}),
    ("UpdateItem", {"TableName": "idx", "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
                    "UpdateExpression": "SET g = :v", "ExpressionAttributeValues": {":v": {"S": ""}}}),
    ("Query", {"TableName": "idx", "IndexName": "nope", "KeyConditionExpression": "g = :g",
               "ExpressionAttributeValues": {":g": {"S": "v"}}}),
    ("Query", {"TableName": "idx", "IndexName": "byG", "KeyConditionExpression": "g = :g", "ConsistentRead": True,
               "ExpressionAttributeValues": {":g": {"S": "v"}}}),
    ("Query", {"TableName": "idx", "IndexName": "byG", "KeyConditionExpression": "g = :g", "Select": "ALL_ATTRIBUTES",
               "ExpressionAttributeValues": {":g": {"S": "v"}}}),
    ("Query", {"TableName": "idx", "IndexName": "byG", "KeyConditionExpression": "g = :g", "ProjectionExpression": "x",
               "ExpressionAttributeValues": {":g": {"S": "v"}}}),
    ("Query", {"TableName": "idx", "IndexName": "byG", "KeyConditionExpression": "g = :g", "FilterExpression": "g = :g",
               "ExpressionAttributeValues": {":g": {"S": "v"}}}),
    ("Query", {"TableName": "idx", "IndexName": "byL", "KeyConditionExpression": "l = :l",
               "ExpressionAttributeValues": {":l": {"N": "1"}}}),
    ("Query", {"TableName": "idx", "IndexName": "byL", "KeyConditionExpression": "pk = :p",
               "ExpressionAttributeValues": {":p": {"S": "a"}}, "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"S": "1"}}}),
    ("Query", {"TableName": "idx", "IndexName": "byL", "KeyConditionExpression": "pk = :p AND l > :l", "ConsistentRead": True,
               "ExpressionAttributeValues": {":p": {"S": "a"}, ":l": {"N": "0"}}, "Select": "ALL_ATTRIBUTES"}),
    ("Query", {"TableName": "idx", "IndexName": "byG", "KeyConditionExpression": "g = :g",
               "ExpressionAttributeValues": {":g": {"S": "v"}}, "Select": "ALL_PROJECTED_ATTRIBUTES"}),
    ("Scan", {"TableName": "idx", "IndexName": "byG", "ConsistentRead": True}),
    ("Scan", {"TableName": "idx", "IndexName": "byL", "Select": "ALL_ATTRIBUTES"}),
    ("UpdateTable", {"TableName": "idx", "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "nope"}}]}),
    ("UpdateTable", {"TableName": "idx", "AttributeDefinitions": [attr("g", "S")],
                     "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "byG", "KeySchema": [key("g", "HASH")], "Projection": ALL}}]}),
    ("UpdateTable", {"TableName": "idx", "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "byH", "KeySchema": [key("h", "HASH")], "Projection": ALL}}]}),
]


def shape(status, body):
    return status, body.get("__type", "").split("#")[-1], body.get("message", body.get("Message", ""))


differences = 0
for op, body in CASES:
    a = call(A, op, body)
    b = call(B, op, body)
    sa, sb = shape(*a), shape(*b)
    if sa != sb:
        differences += 1
        print(f"--- {op} {json.dumps(body)[:160]}")
        print(f"  dynacore: {sa}")
        print(f"  ddblocal: {sb}")
    elif sa[0] == 200 and op in ("Query", "Scan"):
        if a[1].get("Items") != b[1].get("Items"):
            differences += 1
            print(f"--- {op} items differ: {a[1].get('Items')} vs {b[1].get('Items')}")
for name in ["idx"] + [f"tab{i}" for i in range(1, 10)]:
    call(A, "DeleteTable", {"TableName": name})
    call(B, "DeleteTable", {"TableName": name})
print(f"{differences} differences in {len(CASES)} requests")
