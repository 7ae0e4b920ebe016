#!/usr/bin/env python3
"""An independent reader of a DynamoDB table export, using only the
documented format and the standard library (gzip, json, hashlib, base64).

    export_reader.py EXPORT_ROOT BUCKET EXPORT_FOLDER_KEY

EXPORT_FOLDER_KEY is the export's folder inside the bucket
(`<prefix>/AWSDynamoDB/<ExportId>`). Checks manifest-summary.json against
manifest-files.json, each data file's md5Checksum (base64) and etag (hex),
each file's itemCount against its lines, and that every line is
{"Item": {...}} in DynamoDB JSON (DYNAMODB_JSON) or `$ion_1_0 {Item:` text
(ION). An INCREMENTAL_EXPORT (summary exportType) has exportFromTime,
exportToTime and exportViewType in its summary and lines of
{"Metadata": {"WriteTimestampMicros": {"N": ...}}, "Keys": {...},
"NewImage"?: {...}, "OldImage"?: {...}} (or `$ion_1_0 {Metadata:` text);
for DYNAMODB_JSON it also prints, sorted, one
`change <pk>|<sk> new=<num> old=<num>` line per change (`-` for an
absent image). Prints `items=<n> files=<n> format=<fmt>` and exits 0, or
prints the first mismatch and exits 1.
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


def image_num(image):
    return image["num"]["N"] if image is not None else "-"


def check_change(fmt, line, view_type):
    """One incremental line; its `change ...` summary (JSON only)."""
    if fmt != "DYNAMODB_JSON":
        if not line.lstrip().startswith("$ion_1_0 {Metadata:"):
            fail(f"not an Ion change line: {line[:80]}")
        return None
    record = json.loads(line)
    extra = set(record) - {"Metadata", "Keys", "NewImage", "OldImage"}
    if extra or "Metadata" not in record or "Keys" not in record:
        fail(f"not an incremental export line: {line[:80]}")
    micros = record["Metadata"]["WriteTimestampMicros"]["N"]
    if not micros.isdigit():
        fail(f"WriteTimestampMicros {micros!r}")
    if view_type == "NEW_IMAGE" and "OldImage" in record:
        fail("an OldImage in a NEW_IMAGE export")
    for part in ("Keys", "NewImage", "OldImage"):
        for v in record.get(part, {}).values():
            check_value(v)
    keys = record["Keys"]
    return (f"change {keys['pk']['S']}|{keys['sk']['N']} "
            f"new={image_num(record.get('NewImage'))} old={image_num(record.get('OldImage'))}")


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
    incremental = summary.get("exportType") == "INCREMENTAL_EXPORT"
    if incremental:
        for field in ("exportFromTime", "exportToTime", "exportViewType"):
            if field not in summary:
                fail(f"manifest-summary.json has no {field}")
    changes = []
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
                if incremental:
                    changes.append(check_change(fmt, item_line, summary["exportViewType"]))
                elif fmt == "DYNAMODB_JSON":
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
    for change in sorted(c for c in changes if c):
        print(change)


if __name__ == "__main__":
    main()
