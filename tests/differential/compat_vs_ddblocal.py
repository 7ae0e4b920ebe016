#!/usr/bin/env python3
"""The request shapes of issue 13's "Defects found" (validation order and
messages, Query/Scan parameter rules, UpdateItem semantics, legacy
conditions, condition functions, item limits, consumed capacity,
multi-attribute GSI keys) sent to Dynacore and to DynamoDB Local side by
side. One line per shape: whether the answers differ, and which one
DynamoDB's documentation (or DynamoDB's own recorded answers) supports:

    same      both answer alike
    DIFF ddbl the docs side with DynamoDB Local: a Dynacore defect
    DIFF ours the docs side with Dynacore: DynamoDB Local departs from
              DynamoDB here (see ../shared/peers/README.md)
    DIFF ?    the docs are silent

    /work/shared/peers/peers.sh start ddblocal
    target/debug/dynacore serve --data-dir target/diff-compat --listen 127.0.0.1:8060 &
    python3 tests/differential/compat_vs_ddblocal.py [dynacore=http://127.0.0.1:8060] [ddblocal=http://127.0.0.1:8003] [-v]

Not part of `cargo test` (DynamoDB Local is a Java download). Table names
carry a per-run suffix, so one DynamoDB Local serves many runs.
"""
import json
import sys
import time
import urllib.request

ARGS = [a for a in sys.argv[1:] if not a.startswith("-")]
VERBOSE = "-v" in sys.argv
A = ARGS[0] if len(ARGS) > 0 else "http://127.0.0.1:8060"
B = ARGS[1] if len(ARGS) > 1 else "http://127.0.0.1:8003"
RUN = "%x" % (int(time.time() * 1000) % 0xFFFFFF)


def call(endpoint, op, body):
    req = urllib.request.Request(
        endpoint.rstrip("/") + "/",
        data=(body if isinstance(body, str) else json.dumps(body)).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810." + op,
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00",
        },
    )
    try:
        with urllib.request.urlopen(req) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        reply = json.loads(raw)
    except ValueError:
        reply = {"raw": raw.decode(errors="replace")}
    return status, reply


def view_error(status, reply):
    if status == 200:
        return (200, reply)
    message = reply.get("message", reply.get("Message"))
    return (status, reply.get("__type", "").split("#")[-1], message)


def t(name):
    return name + RUN


T1, T2, TG = t("cmp1"), t("cmp2"), t("cmpg")
SETUP = [
    ("CreateTable", {"TableName": T1, "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                     "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}),
    ("CreateTable", {"TableName": T2, "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
                     "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}], "BillingMode": "PAY_PER_REQUEST"}),
    ("CreateTable", {"TableName": TG, "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "h1", "AttributeType": "S"},
                                                                 {"AttributeName": "h2", "AttributeType": "S"}, {"AttributeName": "r1", "AttributeType": "S"},
                                                                 {"AttributeName": "r2", "AttributeType": "S"}],
                     "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST",
                     "GlobalSecondaryIndexes": [{"IndexName": "gix", "KeySchema": [{"AttributeName": "h1", "KeyType": "HASH"}, {"AttributeName": "h2", "KeyType": "HASH"},
                                                                                    {"AttributeName": "r1", "KeyType": "RANGE"}, {"AttributeName": "r2", "KeyType": "RANGE"}, {"AttributeName": "pk", "KeyType": "RANGE"}],
                                                 "Projection": {"ProjectionType": "ALL"}}]}),
]
BIG = "x" * 3000

# (name, [(op, body)...], docs) — the last request's answer is compared,
# unless the case ends with a GetItem, whose answer shows the effect.
# docs: "ddbl" the docs side with DynamoDB Local; "ours" with Dynacore's
# answer (DynamoDB Local departs); "?" silent.
CASES = [
    # -- member types first (SerializationException), DynamoDB Local 500s
    ("type: Key not a map, TableName missing", [("GetItem", {"Key": "x"})], "ours"),
    ("type: Key value not a structure", [("GetItem", {"TableName": T1, "Key": {"pk": "x"}})], "ours"),
    ("type: TableName true", [("GetItem", {"TableName": True, "Key": {"pk": {"S": "a"}}})], "ours"),
    ("type: ConsistentRead string", [("GetItem", {"TableName": T1, "Key": {"pk": {"S": "a"}}, "ConsistentRead": "yes"})], "ours"),
    ("type: Limit string", [("Scan", {"TableName": T1, "Limit": "3"})], "ours"),
    ("type: S is a number", [("GetItem", {"TableName": T1, "Key": {"pk": {"S": 1}}})], "ours"),
    # -- member constraints collected
    ("violations: PutItem three enums", [("PutItem", {"TableName": T1, "Item": {"pk": {"S": "a"}}, "ReturnValues": "x", "ReturnConsumedCapacity": "y", "ReturnItemCollectionMetrics": "z"})], "?"),
    ("violations: GetItem four", [("GetItem", {"TableName": "abc;", "ReturnConsumedCapacity": "hi", "AttributesToGet": []})], "?"),
    ("violations: BatchGetItem counted", [("BatchGetItem", {"RequestItems": {"a": {}}, "ReturnConsumedCapacity": "hi"})], "?"),
    ("violations: Query Limit 0", [("Query", {"TableName": T1, "Limit": 0, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}}})], "?"),
    ("constraint: RequestItems {}", [("BatchGetItem", {"RequestItems": {}})], "?"),
    ("constraint: 101 keys one table", [("BatchGetItem", {"RequestItems": {T1: {"Keys": [{"pk": {"S": str(i)}} for i in range(101)]}}})], "?"),
    ("constraint: 26 writes one table", [("BatchWriteItem", {"RequestItems": {T1: [{"PutRequest": {"Item": {"pk": {"S": str(i)}}}} for i in range(26)]}})], "?"),
    # -- validation before table existence
    # DynamoDB's recorded answers (dynalite's test suite) validate these
    # before the table; DynamoDB Local looks the table up first.
    ("before table: oversized item", [("PutItem", {"TableName": t("nosuch"), "Item": {"pk": {"S": "a"}, "b": {"S": "x" * (400 * 1024)}}})], "ours"),
    ("before table: bad number key", [("GetItem", {"TableName": t("nosuch"), "Key": {"pk": {"N": "b"}}})], "ours"),
    ("before table: batch oversized item", [("BatchWriteItem", {"RequestItems": {t("nosuch"): [{"PutRequest": {"Item": {"pk": {"S": "a"}, "b": {"S": "x" * (400 * 1024)}}}}]}})], "ddbl"),
    ("before table: capacity out of bounds", [("UpdateTable", {"TableName": t("nosuch"), "ProvisionedThroughput": {"ReadCapacityUnits": 1000000000001, "WriteCapacityUnits": 1}})], "?"),
    # -- DDL names
    ("ddl: CreateTable without TableName", [("CreateTable", {"AttributeDefinitions": []})], "?"),
    ("ddl: DescribeTable short name", [("DescribeTable", {"TableName": "ab"})], "?"),
    ("ddl: KeySchema pk HASH + pk RANGE", [("CreateTable", {"TableName": t("ks"), "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                                                          "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "pk", "KeyType": "RANGE"}], "BillingMode": "PAY_PER_REQUEST"})], "?"),
    # -- Query / Scan parameter rules
    ("query: KeyConditions + FilterExpression", [("Query", {"TableName": T2, "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
                                                           "FilterExpression": "v > :v", "ExpressionAttributeValues": {":v": {"N": "0"}}})], "ddbl"),
    ("query: KeyConditions + ProjectionExpression", [("Query", {"TableName": T2, "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
                                                               "ProjectionExpression": "sk"})], "ddbl"),
    ("scan: AttributesToGet + FilterExpression", [("Scan", {"TableName": T2, "AttributesToGet": ["v"], "FilterExpression": "v > :v", "ExpressionAttributeValues": {":v": {"N": "0"}}})], "ddbl"),
    ("scan: start key outside the segment", "SEGMENT", "ddbl"),
    ("scan: sort key in a hash-only start key", [("Scan", {"TableName": T1, "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"N": "1"}}})], "ddbl"),
    # -- UpdateItem semantics
    ("update: REMOVE on a missing item", [("UpdateItem", {"TableName": T1, "Key": {"pk": {"S": "gone1"}}, "UpdateExpression": "REMOVE x"}),
                                          ("GetItem", {"TableName": T1, "Key": {"pk": {"S": "gone1"}}, "ConsistentRead": True})], "ours"),
    ("update: REMOVE a.b on a missing item", [("UpdateItem", {"TableName": T1, "Key": {"pk": {"S": "gone2"}}, "UpdateExpression": "REMOVE a.b"})], "ours"),
    ("update: UPDATED_NEW of SET a.b", [("PutItem", {"TableName": T1, "Item": {"pk": {"S": "u1"}, "a": {"M": {"b": {"N": "1"}, "c": {"N": "2"}}}}}),
                                        ("UpdateItem", {"TableName": T1, "Key": {"pk": {"S": "u1"}}, "UpdateExpression": "SET a.b = :v", "ExpressionAttributeValues": {":v": {"N": "5"}}, "ReturnValues": "UPDATED_NEW"})], "ours"),
    ("update: SET past the end, two indexes", [("PutItem", {"TableName": T1, "Item": {"pk": {"S": "u2"}, "l": {"L": [{"N": "0"}]}}}),
                                               ("UpdateItem", {"TableName": T1, "Key": {"pk": {"S": "u2"}}, "UpdateExpression": "SET l[84] = :x, l[37] = :y", "ExpressionAttributeValues": {":x": {"S": "x"}, ":y": {"S": "y"}}}),
                                               ("GetItem", {"TableName": T1, "Key": {"pk": {"S": "u2"}}, "ConsistentRead": True})], "ddbl"),
    ("update: nested list_append", [("UpdateItem", {"TableName": T1, "Key": {"pk": {"S": "u2"}}, "UpdateExpression": "SET l = list_append(list_append(l, :e), :e)", "ExpressionAttributeValues": {":e": {"L": []}}})], "ddbl"),
    # -- legacy conditions
    ("legacy: Expected GT with two values", [("PutItem", {"TableName": T1, "Item": {"pk": {"S": "e"}}, "Expected": {"a": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "1"}, {"N": "2"}]}}})], "ddbl"),
    ("legacy: Expected GT with BOOL", [("PutItem", {"TableName": T1, "Item": {"pk": {"S": "e"}}, "Expected": {"a": {"ComparisonOperator": "GT", "AttributeValueList": [{"BOOL": True}]}}})], "ddbl"),
    ("legacy: Expected IN of mixed types", [("PutItem", {"TableName": T1, "Item": {"pk": {"S": "e"}}, "Expected": {"a": {"ComparisonOperator": "IN", "AttributeValueList": [{"N": "1"}, {"S": "2"}]}}})], "ddbl"),
    ("legacy: Expected Exists + ComparisonOperator", [("PutItem", {"TableName": T1, "Item": {"pk": {"S": "e"}}, "Expected": {"a": {"ComparisonOperator": "EQ", "Exists": True, "Value": {"N": "1"}}}})], "ddbl"),
    ("legacy: Expected Value + ComparisonOperator", [("PutItem", {"TableName": T1, "Item": {"pk": {"S": "e"}}, "Expected": {"a": {"ComparisonOperator": "NULL"}}}),
                                                      ("PutItem", {"TableName": T1, "Item": {"pk": {"S": "e"}}, "Expected": {"pk": {"ComparisonOperator": "EQ", "Value": {"S": "e"}}}})], "ddbl"),
    ("legacy: ScanFilter BETWEEN on lists", [("Scan", {"TableName": T1, "ScanFilter": {"a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"L": []}, {"L": []}]}}})], "ddbl"),
    ("legacy: AttributeUpdates ADD a list", [("UpdateItem", {"TableName": T1, "Key": {"pk": {"S": "add1"}}, "AttributeUpdates": {"l": {"Action": "ADD", "Value": {"L": [{"S": "a"}]}}}}),
                                              ("UpdateItem", {"TableName": T1, "Key": {"pk": {"S": "add1"}}, "AttributeUpdates": {"l": {"Action": "ADD", "Value": {"L": [{"S": "b"}]}}}, "ReturnValues": "ALL_NEW"})], "ddbl"),
    ("legacy: ADD a string names type S", [("UpdateItem", {"TableName": T1, "Key": {"pk": {"S": "add2"}}, "AttributeUpdates": {"l": {"Action": "ADD", "Value": {"S": "b"}}}})], "ours"),
    # -- condition functions
    ("cond: attribute_type with a path", [("Scan", {"TableName": T1, "FilterExpression": "attribute_type(a, b)"})], "ddbl"),
    # (on the untouched partition "p" of T2, whose 8 items both sides hold)
    ("cond: size of a value", [("Query", {"TableName": T2, "KeyConditionExpression": "pk = :p", "Select": "COUNT", "FilterExpression": "size(:s) = :n", "ExpressionAttributeValues": {":p": {"S": "p"}, ":s": {"S": "xy"}, ":n": {"N": "2"}}})], "ddbl"),
    ("cond: attribute_type of a value", [("Query", {"TableName": T2, "KeyConditionExpression": "pk = :p", "Select": "COUNT", "FilterExpression": "attribute_type(:s, :t)", "ExpressionAttributeValues": {":p": {"S": "p"}, ":s": {"S": "xy"}, ":t": {"S": "S"}}})], "ddbl"),
    ("cond: (size(b)) = :n", [("Query", {"TableName": T2, "KeyConditionExpression": "pk = :p", "Select": "COUNT", "FilterExpression": "(v) = :n OR (size(b)) = :n", "ExpressionAttributeValues": {":p": {"S": "p"}, ":n": {"N": "2"}}})], "ddbl"),
    ("cond: b.c = ((c[1]) + (b.a))", [("Scan", {"TableName": T1, "FilterExpression": "b.c = ((c[1]) + (b.a))"})], "ddbl"),
    # -- item limits
    ("item: empty attribute name", [("PutItem", {"TableName": T1, "Item": {"pk": {"S": "n"}, "": {"S": "x"}}})], "ddbl"),
    ("item: empty nested attribute name", [("PutItem", {"TableName": T1, "Item": {"pk": {"S": "n"}, "m": {"M": {"": {"S": "x"}}}}})], "ddbl"),
    ("item: 64 KB attribute name", [("PutItem", {"TableName": T1, "Item": {"pk": {"S": "n"}, "n" * 65536: {"S": "x"}}})], "ours"),
    ("ddl: 256-byte key attribute name", [("CreateTable", {"TableName": t("lk"), "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                                                         "KeySchema": [{"AttributeName": "k" * 256, "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"})], "?"),
    # -- consumed capacity
    ("capacity: plain put over a 3 KB item", [("PutItem", {"TableName": T1, "Item": {"pk": {"S": "big"}, "v": {"S": BIG}}}),
                                               ("PutItem", {"TableName": T1, "Item": {"pk": {"S": "big"}}, "ReturnConsumedCapacity": "TOTAL"})], "ddbl"),
    ("capacity: batch delete of a 3 KB item", [("PutItem", {"TableName": T1, "Item": {"pk": {"S": "big2"}, "v": {"S": BIG}}}),
                                                ("BatchWriteItem", {"RequestItems": {T1: [{"DeleteRequest": {"Key": {"pk": {"S": "big2"}}}}]}, "ReturnConsumedCapacity": "TOTAL"})], "ddbl"),
    ("capacity: BatchGetItem INDEXES", [("BatchGetItem", {"RequestItems": {T1: {"Keys": [{"pk": {"S": "big"}}]}}, "ReturnConsumedCapacity": "INDEXES"})], "ddbl"),
    ("capacity: Scan of small items", [("Scan", {"TableName": T2, "Select": "COUNT", "ReturnConsumedCapacity": "TOTAL"})], "ddbl"),
    # -- multi-attribute GSI keys
    ("gsi: missing HASH attribute", [("Query", {"TableName": TG, "IndexName": "gix", "KeyConditionExpression": "h1 = :a", "ExpressionAttributeValues": {":a": {"S": "a"}}})], "ddbl"),
    ("gsi: gap in RANGE attributes", [("Query", {"TableName": TG, "IndexName": "gix", "KeyConditionExpression": "h1 = :a AND h2 = :a AND r2 = :a", "ExpressionAttributeValues": {":a": {"S": "a"}}})], "ddbl"),
    ("gsi: DescribeTable KeySchema order", "DESCRIBE_GSI", "ddbl"),
]


def run_segment(endpoint):
    """A key that one of two segments owns, started in the other segment."""
    answers = []
    for i in range(8):
        call(endpoint, "PutItem", {"TableName": T1, "Item": {"pk": {"S": "seg%d" % i}}})
    for i in range(8):
        start = {"pk": {"S": "seg%d" % i}}
        pair = [call(endpoint, "Scan", {"TableName": T1, "Segment": s, "TotalSegments": 2, "ExclusiveStartKey": start}) for s in (0, 1)]
        answers.append(sorted(view_error(*p)[0] for p in pair))
        bad = [p for p in pair if p[0] != 200]
        if bad:
            return view_error(*bad[0])
    return answers


def run_describe(endpoint):
    status, reply = call(endpoint, "DescribeTable", {"TableName": TG})
    if status != 200:
        return view_error(status, reply)
    return [ix["KeySchema"] for ix in reply["Table"].get("GlobalSecondaryIndexes", [])]


def run(endpoint, steps):
    if steps == "SEGMENT":
        return run_segment(endpoint)
    if steps == "DESCRIBE_GSI":
        return run_describe(endpoint)
    answer = None
    for op, body in steps:
        status, reply = call(endpoint, op, body)
        answer = view_error(status, reply)
    return answer


def main():
    for op, body in SETUP:
        for endpoint in (A, B):
            call(endpoint, op, body)
    for endpoint in (A, B):
        for sk in range(1, 9):
            call(endpoint, "PutItem", {"TableName": T2, "Item": {"pk": {"S": "p"}, "sk": {"N": str(sk)}, "v": {"N": str(sk)}}})
    time.sleep(1)
    counts = {"same": 0, "ddbl": 0, "ours": 0, "?": 0}
    for name, steps, docs in CASES:
        ours, theirs = run(A, steps), run(B, steps)
        if ours == theirs:
            counts["same"] += 1
            print("same       ", name)
            continue
        counts[docs] += 1
        print("DIFF %-6s " % docs, name)
        if VERBOSE or docs == "ddbl":
            print("    dynacore:", json.dumps(ours)[:400])
            print("    ddblocal:", json.dumps(theirs)[:400])
    print("shapes %d: same %d, differ %d (docs side with DynamoDB Local: %d; with Dynacore: %d; silent: %d)" % (
        len(CASES), counts["same"], len(CASES) - counts["same"], counts["ddbl"], counts["ours"], counts["?"]))


if __name__ == "__main__":
    main()
