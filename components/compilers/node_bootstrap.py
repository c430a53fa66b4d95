"""A GPU pool's launch-template user data: nodeadm settings and the node cache directory.

EKS managed node groups on an EKS-optimised AMI append their own NodeConfig (cluster name,
endpoint, CA) to whatever the launch template carries, and nodeadm merges every NodeConfig it
finds; so ours holds only the cold-start levers. The user data must be MIME multipart for that.
"""
from __future__ import annotations

import base64

import yaml

from components.intent.cluster import GpuNodePool

BOUNDARY = "ML-SERVING-BOUNDARY"
NODECONFIG_TYPE = "application/node.eks.aws"
SCRIPT_TYPE = 'text/x-shellscript; charset="us-ascii"'
# nodeadm's localStorage RAID0 mounts the array at <mountPath>/0 (default /mnt/k8s-disks/).
RAID0_MOUNT = "/mnt/k8s-disks/0"
ROOT_VOLUME_CACHE = "/var/lib/ml-serving/cache"
NVME_CACHE = f"{RAID0_MOUNT}/ml-serving/cache"
# The serving images' user (containers/*/Dockerfile); a hostPath is not chowned by fsGroup.
CACHE_OWNER = 1000


def node_cache_dir(pool: GpuNodePool) -> str | None:
    """The directory model pods on this pool mount as their cache, or None for an emptyDir."""
    if pool.cold_start.compile_cache != "node":
        return None
    return NVME_CACHE if pool.cold_start.instance_store == "raid0" else ROOT_VOLUME_CACHE


def caches_s3_weights(pool: GpuNodePool) -> bool:
    """Whether vLLM replicas on this pool keep a copy of their S3 weights in the node cache: only
    on the NVMe array, which has room for them (the root volume is sized for images and logs)."""
    return pool.cold_start.compile_cache == "node" and pool.cold_start.instance_store == "raid0"


def node_config(pool: GpuNodePool) -> dict | None:
    levers = pool.cold_start
    spec: dict = {}
    if levers.image_pull == "soci_parallel":
        spec["featureGates"] = {"FastContainerImagePull": True}
    if levers.instance_store == "raid0":
        spec["instance"] = {"localStorage": {"strategy": "RAID0"}}
    if not spec:
        return None
    return {"apiVersion": "node.eks.aws/v1alpha1", "kind": "NodeConfig", "spec": spec}


def _cache_script(directory: str) -> str:
    # cloud-init runs user scripts after nodeadm's config phase (which builds the RAID0 array)
    # and before its run phase starts kubelet, so the directory exists before any pod mounts it.
    # 0700: only the serving user reads or writes what the next engine start will execute.
    return (
        "#!/bin/bash\n"
        "set -euo pipefail\n"
        f"install -d -m 0700 -o {CACHE_OWNER} -g {CACHE_OWNER} {directory}\n"
    )


def user_data_mime(pool: GpuNodePool) -> str | None:
    """The MIME multipart user data, or None when the pool needs none (EKS then writes its own)."""
    parts: list[tuple[str, str]] = []
    config = node_config(pool)
    if config is not None:
        parts.append((NODECONFIG_TYPE, "---\n" + yaml.safe_dump(config, sort_keys=False)))
    cache = node_cache_dir(pool)
    if cache is not None:
        parts.append((SCRIPT_TYPE, _cache_script(cache)))
    if not parts:
        return None
    lines = ["MIME-Version: 1.0", f'Content-Type: multipart/mixed; boundary="{BOUNDARY}"', ""]
    for content_type, body in parts:
        lines += [f"--{BOUNDARY}", f"Content-Type: {content_type}", "", body.rstrip("\n"), ""]
    lines.append(f"--{BOUNDARY}--")
    return "\n".join(lines) + "\n"


def user_data(pool: GpuNodePool) -> str | None:
    """Base64, as the launch template's user_data takes it."""
    text = user_data_mime(pool)
    return None if text is None else base64.b64encode(text.encode()).decode()
