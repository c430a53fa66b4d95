"""How many nodes one replica of a vLLM model needs: tensor parallelism over a node's GPUs,
pipeline parallelism across nodes (vLLM's multi-node layout), and what that costs.

A pure planning aid: which split fits and what it costs. ModelSpec's own fit check uses the
same memory model; docs/decisions.md says when splitting across nodes pays.
"""
from __future__ import annotations

from dataclasses import dataclass

from components.intent.architecture import LlmArchitecture
from components.intent.instances import catalog
from components.intent.memory import MemoryPlan, Quantization, plan_memory

MAX_NODES = 8


@dataclass(frozen=True)
class NodeSplit:
    instance_type: str
    nodes: int  # pipeline-parallel stages, one per node
    gpus_per_node: int  # tensor parallelism inside a node
    plan: MemoryPlan
    usd_per_hour: float

    @property
    def gpus(self) -> int:
        return self.nodes * self.gpus_per_node


def split_for(
    arch: LlmArchitecture,
    instance_type: str,
    nodes: int,
    *,
    max_model_len: int,
    utilization: float = 0.90,
    dtype: str = "bfloat16",
    quantization: Quantization = "none",
    kv_cache_dtype: str = "auto",
) -> NodeSplit:
    itype = catalog().instances[instance_type]
    plan = plan_memory(
        arch,
        gpu=itype.gpu,
        gpu_memory_mib=catalog().gpus[itype.gpu].memory_mib,
        tensor_parallel=itype.gpu_count,
        pipeline_parallel=nodes,
        max_model_len=max_model_len,
        utilization=utilization,
        dtype=dtype,
        quantization=quantization,
        kv_cache_dtype=kv_cache_dtype,  # type: ignore[arg-type]
    )
    return NodeSplit(instance_type, nodes, itype.gpu_count, plan, nodes * itype.ec2_usd_per_hour.value)


def nodes_needed(arch: LlmArchitecture, instance_type: str, **engine) -> NodeSplit | None:
    """The fewest whole nodes of `instance_type` whose GPUs hold one replica at
    `max_model_len`; None if even MAX_NODES do not (or the layers run out of stages)."""
    for nodes in range(1, min(MAX_NODES, arch.num_layers) + 1):
        split = split_for(arch, instance_type, nodes, **engine)
        if split.plan.fits:
            return split
    return None
