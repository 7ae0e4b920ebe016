counter = 0
request = function()
  counter = counter + 1
  local k = counter % 1000
  local body = '{"TableName":"bench","Key":{"pk":{"S":"key' .. k .. '"}}}'
  return wrk.format("POST", "/", {["Content-Type"]="application/x-amz-json-1.0", ["X-Amz-Target"]="DynamoDB_20120810.GetItem", ["Authorization"]="AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00"}, body)
end
