#!/usr/bin/env python3
"""An independent reader of a DynamoDB table export, using only the
documented format and the standard library (gzip, json, hashlib, base64).

    export_reader.py EXPORT_ROOT BUCKET EXPORT_FOLDER_KEY

EXPORT_FOLDER_KEY is the export's folder inside the bucket
(`<prefix>/AWSDynamoDB/<ExportId>`). Checks manifest-summary.json against
manifest-files.json, each data file's md5Checksum (base64) and etag (hex),
each file's itemCount against its lines, and that every line is
{"Item": {...}} in DynamoDB JSON (DYNAMODB_JSON) or `$ion_1_0 {Item:` text
(ION). Prints `items=<n> files=<n> format=<fmt>` and exits 0, or prints
the first mismatch and exits 1.
"""
import base64
import gzip
import hashlib
import json
import os
import sys

TYPES = {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"}


def fail(message):
    print(message)
    sys.exit(1)


def check_value(value):
    if not isinstance(value, dict) or len(value) != 1:
        fail(f"not an AttributeValue: {value!r}")
    (kind, inner), = value.items()
    if kind not in TYPES:
        fail(f"unknown type {kind}")
    if kind == "M":
        for v in inner.values():
            check_value(v)
    if kind == "L":
        for v in inner:
            check_value(v)


def main():
    root, bucket, folder = sys.argv[1:4]
    bucket_dir = os.path.join(root, bucket)
    with open(os.path.join(bucket_dir, folder, "manifest-summary.json")) as f:
        summary = json.load(f)
    for field in ("version", "exportArn", "startTime", "endTime", "tableArn",
                  "exportTime", "s3Bucket", "manifestFilesS3Key",
                  "billedSizeBytes", "itemCount", "outputFormat"):
        if field not in summary:
            fail(f"manifest-summary.json has no {field}")
    if summary["s3Bucket"] != bucket:
        fail(f"s3Bucket {summary['s3Bucket']} is not {bucket}")
    fmt = summary["outputFormat"]
    total = 0
    files = 0
    with open(os.path.join(bucket_dir, summary["manifestFilesS3Key"])) as f:
        for line in f:
            if not line.strip():
                continue
            entry = json.loads(line)
            data_path = os.path.join(bucket_dir, entry["dataFileS3Key"])
            with open(data_path, "rb") as d:
                raw = d.read()
            digest = hashlib.md5(raw).digest()
            if base64.b64encode(digest).decode() != entry["md5Checksum"]:
                fail(f"md5Checksum mismatch for {entry['dataFileS3Key']}")
            if digest.hex() != entry["etag"]:
                fail(f"etag mismatch for {entry['dataFileS3Key']}")
            count = 0
            for item_line in gzip.decompress(raw).decode("utf-8").splitlines():
                if not item_line.strip():
                    continue
                count += 1
                if fmt == "DYNAMODB_JSON":
                    record = json.loads(item_line)
                    if list(record) != ["Item"]:
                        fail(f"a line is not {{\"Item\": ...}}: {item_line[:80]}")
                    for v in record["Item"].values():
                        check_value(v)
                elif not item_line.lstrip().startswith("$ion_1_0 {Item:"):
                    fail(f"not an Ion item line: {item_line[:80]}")
            if count != entry["itemCount"]:
                fail(f"{entry['dataFileS3Key']}: {count} lines, itemCount {entry['itemCount']}")
            total += count
            files += 1
    if total != summary["itemCount"]:
        fail(f"{total} items in the files, itemCount {summary['itemCount']}")
    print(f"items={total} files={files} format={fmt}")


if __name__ == "__main__":
    main()
