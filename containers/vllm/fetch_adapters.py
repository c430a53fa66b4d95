#!/usr/bin/env python3
"""Copy LoRA adapters from S3 to local folders before vLLM starts (the pod's init container).

    ml-serving-fetch-adapters s3://bucket/adapters/support/v3/=/adapters/support [...]

vLLM 0.31.0 loads `--lora-modules` paths from local disk or the Hugging Face Hub only, so
each adapter prefix is copied whole. An adapter without adapter_config.json would make vLLM
fail later with a less helpful error, so this refuses it here (exit 65) and names it.
Uses the pod's credentials (EKS Pod Identity) through boto3, which the vLLM image ships
with its Run:ai S3 streamer.
"""
from __future__ import annotations

import sys
from pathlib import Path

import boto3

ADAPTER_CONFIG = "adapter_config.json"


def parse(pair: str) -> tuple[str, str, Path]:
    source, sep, dest = pair.rpartition("=")
    if not sep or not source.startswith("s3://") or not dest:
        raise ValueError(f"expected s3://bucket/prefix/=/local/dir, got {pair!r}")
    bucket, _, prefix = source[len("s3://"):].partition("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix, Path(dest)


def fetch(client, bucket: str, prefix: str, dest: Path) -> list[str]:
    """Download every object under `prefix` into `dest`, keeping relative paths."""
    written = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix):]
            if not relative or relative.endswith("/"):
                continue
            target = (dest / relative).resolve()
            if dest.resolve() not in target.parents:
                raise ValueError(f"s3://{bucket}/{item['Key']} would land outside {dest}")
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, item["Key"], str(target))
            written.append(relative)
    return written


def main(argv: list[str], client=None) -> int:
    if not argv:
        print("usage: ml-serving-fetch-adapters s3://bucket/prefix/=/local/dir ...", file=sys.stderr)
        return 64
    client = client or boto3.client("s3")
    for pair in argv:
        try:
            bucket, prefix, dest = parse(pair)
        except ValueError as error:
            print(f"ml-serving-fetch-adapters: {error}", file=sys.stderr)
            return 64
        files = fetch(client, bucket, prefix, dest)
        if ADAPTER_CONFIG not in files:
            print(
                f"ml-serving-fetch-adapters: s3://{bucket}/{prefix} has no {ADAPTER_CONFIG} "
                f"({len(files)} file(s) found); upload the adapter folder as saved by PEFT",
                file=sys.stderr,
            )
            return 65
        print(f"ml-serving-fetch-adapters: s3://{bucket}/{prefix} -> {dest} ({len(files)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
