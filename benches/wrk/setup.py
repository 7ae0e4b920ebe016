import sys, json, urllib.request
port = sys.argv[1]
def call(op, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=json.dumps(body).encode(), headers={"Content-Type":"application/x-amz-json-1.0","X-Amz-Target":"DynamoDB_20120810."+op,"Authorization":"AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00"})
    try:
        return urllib.request.urlopen(req).read()
    except urllib.error.HTTPError as e:
        return e.read()
print(call("CreateTable", {"TableName":"bench","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"})[:80])
for k in range(1000):
    call("PutItem", {"TableName":"bench","Item":{"pk":{"S":"key%d"%k},"v":{"S":"x"*100}}})
print("loaded")
