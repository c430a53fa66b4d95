#!/usr/bin/env python3
"""Keep a copy of a model's S3 weights on the node for the next replica there.

    ml-serving-weights-cache prepare [vllm serve flag ...]
    ml-serving-weights-cache fill s3://bucket/prefix/ CACHE_DIR HEALTH_URL

The entrypoint runs `prepare` before `vllm serve` when ML_SERVING_WEIGHTS_CACHE names the
cache directory (a pool with instance_store raid0 and compile_cache node: the NVMe array). It
writes the flags back on stdout, NUL-separated:
- `--model=s3://...` becomes the local copy when one is complete and still matches S3 (every
  key, size and ETag; a prefix re-uploaded in place is streamed again, never served stale);
- otherwise the flags are unchanged, this replica streams from S3 as it always did, and a
  detached `fill` copies the prefix once this server answers its health check. The copy never
  runs before or beside the load, so it cannot slow this replica's start; it runs at the
  lowest CPU priority while the replica serves.

Fails safe: any error in `prepare` exits non-zero and the entrypoint streams from S3 with the
flags as given; `fill` gives up (leaving no partial copy in use) rather than fill the disk past
what kubelet's eviction thresholds allow.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig

PROG = "ml-serving-weights-cache"
# Free space the array keeps after a copy: kubelet evicts pods when nodefs or imagefs falls
# under 10-15 % free (its default hard thresholds), and containerd and pod volumes live here too.
RESERVE_FRACTION = 0.20
# How long `fill` waits for the server to become healthy: past any start-up budget we compile.
HEALTH_WAIT_S = 3 * 3600.0
HEALTH_POLL_S = 10.0
DEFAULT_PORT = 8000  # vLLM's own default, where no --port is given
# Gentle on the NIC the replica serves from: a few parts at a time, not boto3's ten.
TRANSFER = TransferConfig(max_concurrency=4)

Listing = dict[str, dict[str, object]]


def log(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def split_s3(source: str) -> tuple[str, str]:
    bucket, _, prefix = source[len("s3://"):].partition("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix


def cache_key(source: str) -> str:
    bucket, prefix = split_s3(source)
    return hashlib.sha256(f"s3://{bucket}/{prefix}".encode()).hexdigest()[:32]


def flag_value(flags: list[str], name: str) -> tuple[int, str] | None:
    """Where `--name=value` or `--name value` is, and its value."""
    for index, flag in enumerate(flags):
        if flag.startswith(f"{name}="):
            return index, flag[len(name) + 1:]
        if flag == name and index + 1 < len(flags):
            return index, flags[index + 1]
    return None


def with_model(flags: list[str], index: int, model: str) -> list[str]:
    if flags[index].startswith("--model="):
        return [*flags[:index], f"--model={model}", *flags[index + 1:]]
    return [*flags[:index], "--model", model, *flags[index + 2:]]


def listing(client, bucket: str, prefix: str) -> Listing:
    """Every object under the prefix: relative path -> size and ETag."""
    found: Listing = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix):]
            if relative and not relative.endswith("/"):
                found[relative] = {"size": int(item["Size"]), "etag": str(item["ETag"])}
    return found


def manifest_path(root: Path, key: str) -> Path:
    return root / f"{key}.json"


def current_copy(root: Path, source: str, objects: Listing) -> Path | None:
    """The local copy of `source`, if it is complete and every file still matches S3."""
    key = cache_key(source)
    try:
        manifest = json.loads(manifest_path(root, key).read_text())
    except (OSError, ValueError):
        return None
    entry = root / key
    if manifest.get("source") != source or manifest.get("objects") != objects or not objects:
        return None
    for relative, item in objects.items():
        try:
            if (entry / relative).stat().st_size != item["size"]:
                return None
        except OSError:
            return None
    return entry


def prepare(flags: list[str], root: Path, client=None, spawn: Callable[[list[str]], None] | None = None) -> list[str]:
    model = flag_value(flags, "--model")
    if model is None or not model[1].startswith("s3://"):
        return flags
    index, source = model
    client = client or boto3.client("s3")
    bucket, prefix = split_s3(source)
    local = current_copy(root, source, listing(client, bucket, prefix))
    if local is not None:
        log(f"{source} is on this node at {local}; loading it from there")
        return with_model(flags, index, str(local))
    port = flag_value(flags, "--port")
    health = f"http://127.0.0.1:{port[1] if port else DEFAULT_PORT}/health"
    (spawn or detach)([source, str(root), health])
    log(f"{source} is not on this node yet; streaming it from S3 and copying it here once the server is healthy")
    return flags


def detach(arguments: list[str]) -> None:
    """Start `fill` in its own session so it outlives this process and the entrypoint's exec."""
    subprocess.Popen(  # noqa: S603 - our own script, our own arguments
        [sys.executable, os.path.abspath(__file__), "fill", *arguments],
        stdin=subprocess.DEVNULL, stdout=sys.stderr, stderr=sys.stderr, start_new_session=True, close_fds=True,
    )


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a loopback http URL we built
            return response.status == 200
    except OSError:
        return False


def wait_healthy(url: str, probe: Callable[[str], bool] = healthy, sleep: Callable[[float], None] = time.sleep,
                 wait_s: float = HEALTH_WAIT_S) -> bool:
    waited = 0.0
    while not probe(url):
        if waited >= wait_s:
            return False
        sleep(HEALTH_POLL_S)
        waited += HEALTH_POLL_S
    return True


def fill(source: str, root: Path, client=None, disk_usage: Callable[[Path], object] = shutil.disk_usage) -> str:
    """Copy `source` into the cache unless it is there, another replica is copying it, or it would
    not fit; returns what it did. The copy becomes visible only complete and re-checked against S3."""
    client = client or boto3.client("s3")
    key = cache_key(source)
    bucket, prefix = split_s3(source)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{key}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return "another replica on this node is copying it"
        objects = listing(client, bucket, prefix)
        if not objects:
            return f"nothing under {source}"
        if current_copy(root, source, objects) is not None:
            return "already on this node"
        need = sum(int(item["size"]) for item in objects.values())
        usage = disk_usage(root)
        if usage.free - need < RESERVE_FRACTION * usage.total:
            return (
                f"not copied: {need / 2**30:.1f} GiB would leave less than {RESERVE_FRACTION:.0%} of the "
                f"array free ({usage.free / 2**30:.1f} of {usage.total / 2**30:.1f} GiB free)"
            )
        partial = root / f".{key}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        try:
            for relative in objects:
                target = (partial / relative).resolve()
                if partial.resolve() not in target.parents:
                    raise ValueError(f"s3://{bucket}/{prefix}{relative} would land outside the cache")
                target.parent.mkdir(parents=True, exist_ok=True)
                client.download_file(bucket, prefix + relative, str(target), Config=TRANSFER)
            if listing(client, bucket, prefix) != objects:
                return "not kept: the prefix changed in S3 while it was copied"
            for relative, item in objects.items():
                if (partial / relative).stat().st_size != item["size"]:
                    return f"not kept: {relative} arrived with the wrong size"
            # Readers trust the manifest only: drop the old one before the old copy goes.
            manifest_path(root, key).unlink(missing_ok=True)
            entry = root / key
            if entry.exists():
                stale = root / f".{key}.stale"
                shutil.rmtree(stale, ignore_errors=True)
                entry.rename(stale)
                shutil.rmtree(stale, ignore_errors=True)
            partial.rename(entry)
            written = root / f".{key}.json.tmp"
            written.write_text(json.dumps({"source": source, "objects": objects}, sort_keys=True))
            os.replace(written, manifest_path(root, key))
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return f"copied {len(objects)} files, {need / 2**30:.1f} GiB, to {entry}"


def main(argv: list[str]) -> int:
    if argv[:1] == ["prepare"]:
        root = os.environ.get("ML_SERVING_WEIGHTS_CACHE")
        if not root:
            log("ML_SERVING_WEIGHTS_CACHE is not set")
            return 64
        try:
            flags = prepare(argv[1:], Path(root))
        except Exception as error:  # noqa: BLE001 - one line; the entrypoint then streams from S3
            log(f"cannot use the node's copy: {error}")
            return 70
        sys.stdout.write("".join(f"{flag}\0" for flag in flags))
        return 0
    if argv[:1] == ["fill"] and len(argv) == 4:
        source, root, health = argv[1:]
        os.nice(19)
        if not wait_healthy(health):
            log(f"{health} never became healthy; nothing copied")
            return 1
        try:
            log(fill(source, Path(root)))
        except Exception as error:  # noqa: BLE001 - detached: a log line is all anyone will see
            log(f"copy of {source} failed, this node keeps streaming it: {error}")
            return 1
        return 0
    log("usage: ml-serving-weights-cache prepare [vllm flag ...] | fill s3://bucket/prefix/ DIR HEALTH_URL")
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
