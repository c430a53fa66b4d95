"""Shorter cold starts for a GPU pool: how its nodes pull images, what they keep between pods.

Every lever here is compiled through the AL2023 AMI's `nodeadm` (a NodeConfig in the launch
template's MIME user data) or a cloud-init script beside it; Bottlerocket reads TOML settings
instead, which this project does not compile, so each lever is refused there with that reason.
What each lever saves is in components/planning/platform.py, with its source.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from components.intent.base import Loc, Spec
from components.intent.instances import catalog

if TYPE_CHECKING:
    from components.intent.cluster import GpuNodePool


class NodeColdStart(Spec):
    """What a GPU pool's nodes do to start a model replica sooner."""

    image_pull: Literal["sequential", "soci_parallel"] = Field(
        "sequential",
        description="`soci_parallel`: containerd pulls and unpacks image layers concurrently through the SOCI "
        "snapshotter (nodeadm's FastContainerImagePull feature gate, AL2023 AMIs from v20250821). ECR serves the "
        "range requests it needs; the image needs no SOCI index.",
    )
    instance_store: Literal["unused", "raid0"] = Field(
        "unused",
        description="`raid0`: nodeadm stripes the instance's NVMe instance-store disks into one array and moves "
        "containerd's image store, kubelet's pod volumes and the node cache onto it. With compile_cache node, a "
        "vLLM replica also copies its s3:// weights there once it is healthy, and the next replica on that node "
        "loads them from the array instead of streaming them. The disks come with the instance (no extra charge) "
        "and are wiped when it stops.",
    )
    compile_cache: Literal["pod", "node"] = Field(
        "pod",
        description="Where vLLM's torch.compile cache (VLLM_CACHE_ROOT), Triton's kernel cache and Hugging Face "
        "downloads live: `pod` in an emptyDir that dies with the pod; `node` in a directory on the node "
        "(the NVMe array with instance_store raid0, else the root volume) that the next replica on that node "
        "reuses.",
    )


AL2023_ONLY = {
    "image_pull": "SOCI parallel pull is switched on by nodeadm's FastContainerImagePull feature gate, which only "
    "the AL2023 AMI runs; use ami al2023_nvidia or image_pull sequential",
    "instance_store": "the instance store is striped by nodeadm's localStorage RAID0 option, which only the AL2023 "
    "AMI runs; use ami al2023_nvidia or instance_store unused",
    "compile_cache": "the node cache directory is made by a cloud-init script in the launch template, which "
    "Bottlerocket does not run; use ami al2023_nvidia or compile_cache pod",
}
HIBERNATION_REFUSED = (
    "GPU instances cannot hibernate: EC2 hibernation supports only the general purpose, compute, memory and "
    "storage optimised families (M, C, R, I, T), not G or P, and EKS warm pools refuse Hibernated on Bottlerocket; "
    "use state stopped (pays only for the volumes) or running"
)
STOPPED_INSTANCE_STORE = (
    "a stopped warm-pool instance loses its instance store (EC2 destroys the NVMe keys on stop), so nothing "
    "cached there survives, and the AMI's setup-local-disks only builds the RAID0 array on first boot; use warm "
    "pool state running or instance_store unused"
)


def cold_start_problems(pool: GpuNodePool) -> list[tuple[Loc, str]]:
    """Every reason the pool's cold-start levers (and warm-pool state) cannot be built as written."""
    problems: list[tuple[Loc, str]] = []
    levers = pool.cold_start
    chosen = {
        "image_pull": levers.image_pull != "sequential",
        "instance_store": levers.instance_store != "unused",
        "compile_cache": levers.compile_cache != "pod",
    }
    if pool.ami != "al2023_nvidia":
        problems += [(("cold_start", key), AL2023_ONLY[key]) for key, on in chosen.items() if on]
    known = catalog().instances
    if levers.instance_store == "raid0":
        without = [t for t in pool.instance_types if t in known and known[t].instance_store_gb == 0]
        if without:
            problems.append(
                (
                    ("cold_start", "instance_store"),
                    f"{', '.join(without)} {'has' if len(without) == 1 else 'have'} no NVMe instance store; "
                    "use instance_store unused or instance types that have one",
                )
            )
    warm = pool.warm_pool
    if warm is not None and warm.state == "hibernated":
        problems.append((("warm_pool", "state"), HIBERNATION_REFUSED))
    if warm is not None and warm.state == "stopped" and levers.instance_store == "raid0":
        problems.append((("cold_start", "instance_store"), STOPPED_INSTANCE_STORE))
    return problems


def instance_store_gb(pool: GpuNodePool) -> int:
    """NVMe instance store of the pool's smallest instance type (what every node is sure to have)."""
    known = catalog().instances
    return min(known[t].instance_store_gb for t in pool.instance_types if t in known)
