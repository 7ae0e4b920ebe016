counter = 0
local pad = string.rep("x", 100)
request = function()
  counter = counter + 1
  local k = counter % 1000
  local body = '{"TableName":"bench","Item":{"pk":{"S":"key' .. k .. '"},"v":{"S":"' .. pad .. '"}}}'
  return wrk.format("POST", "/", {["Content-Type"]="application/x-amz-json-1.0", ["X-Amz-Target"]="DynamoDB_20120810.PutItem", ["Authorization"]="AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00"}, body)
end
