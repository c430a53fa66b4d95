"""GPU memory of one replica, budgeted the way the serving engine budgets it.

vLLM (performance-facts.md §1.1-1.2) claims `gpu_memory_utilization x total` of every GPU,
where total is what the device reports (the EC2 API's MiB, never the marketing GB). From
that it subtracts the weights and the non-KV peak (activations, CUDA graphs, NCCL); the rest
holds KV-cache blocks of `block_size` tokens. It refuses to start when one request at
`max_model_len` does not fit in those blocks. Tensor parallelism splits the weights and the
KV heads across GPUs; past `num_kv_heads` ranks the heads are replicated, not split.

Pure arithmetic: validators, the capacity planner and the simulator share it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from components.intent.architecture import LlmArchitecture

GIB = 1024**3
MIB = 1024**2

# vLLM CacheConfig.DEFAULT_BLOCK_SIZE: KV memory is handed out in pages of this many tokens.
BLOCK_SIZE = 16
# Activation peak, CUDA graphs and NCCL buffers per GPU outside weights and KV cache. A tunable
# assumption (performance-facts §1.4), not a measurement; the worked figures use it.
NON_KV_OVERHEAD_GIB = 1.5
# AWQ/GPTQ at group size 128: 4-bit weights plus a 16-bit scale and a zero point per group
# come to 4.25-4.5 bits (performance-facts §1.4 rule 4); the embeddings stay 16-bit.
INT4_BITS_PER_WEIGHT = 4.25
# CUDA context and allocator reserve of one Triton server process per GPU. Recalled, not
# measured: check with nvidia-smi on a running server.
TRITON_CUDA_CONTEXT_MIB = 512
# The smallest max_model_len a model may declare: below it a replica is useless, so the
# message points at the weights rather than at max_model_len.
SHORTEST_USEFUL_CONTEXT = 256

Quantization = Literal["none", "fp8", "awq", "gptq"]
DTYPE_BYTES = {"bfloat16": 2, "float16": 2}
QUANTIZED_BITS = {"fp8": 8.0, "awq": INT4_BITS_PER_WEIGHT, "gptq": INT4_BITS_PER_WEIGHT}


def weight_bytes(
    arch: LlmArchitecture,
    quantization: Quantization = "none",
    dtype: str = "bfloat16",
    bytes_per_param: float | None = None,
) -> float:
    """Bytes of the checkpoint's weights on the GPUs of one replica (all ranks together).

    Quantized checkpoints keep the input embedding and the output head in 16 bits, so those
    matrices are counted at 2 bytes. `bytes_per_param` overrides all of this with a flat
    width, which is how the worked table in performance-facts §1.4 was computed.
    """
    params = arch.params_billion * 1e9
    if bytes_per_param is not None:
        return params * bytes_per_param
    full = DTYPE_BYTES[dtype]
    if quantization == "none":
        return params * full
    embeddings = arch.embedding_params() or 0.0
    return embeddings * full + (params - embeddings) * QUANTIZED_BITS[quantization] / 8


def kv_heads_per_gpu(arch: LlmArchitecture, tensor_parallel: int) -> int:
    """KV heads each rank holds: split across ranks, replicated once ranks outnumber heads."""
    return max(1, math.ceil(arch.num_kv_heads / tensor_parallel))


def kv_bytes_per_token(arch: LlmArchitecture, kv_dtype_bytes: int, tensor_parallel: int = 1) -> int:
    """K and V of one token over all layers, on one GPU of a replica."""
    return 2 * arch.num_layers * kv_heads_per_gpu(arch, tensor_parallel) * arch.head_dim * kv_dtype_bytes


@dataclass(frozen=True)
class MemoryPlan:
    """The per-GPU budget of one vLLM replica and what it leaves for the KV cache."""

    gpu: str
    gpu_memory_mib: int
    utilization: float
    tensor_parallel: int
    weights_bytes_per_gpu: float
    overhead_bytes: float
    kv_bytes_per_token_per_gpu: int
    num_layers: int
    max_model_len: int
    # LoRA adapter slots vLLM reserves on each GPU (components/intent/lora.py).
    lora_bytes_per_gpu: float = 0.0

    @property
    def budget_bytes(self) -> float:
        return self.utilization * self.gpu_memory_mib * MIB

    @property
    def kv_bytes_per_gpu(self) -> float:
        return self.budget_bytes - self.weights_bytes_per_gpu - self.overhead_bytes - self.lora_bytes_per_gpu

    @property
    def page_bytes(self) -> int:
        """One KV block of one layer (AttentionSpec.page_size_bytes)."""
        return self.kv_bytes_per_token_per_gpu // self.num_layers * BLOCK_SIZE

    @property
    def num_blocks(self) -> int:
        # get_num_blocks: available // page_size // num_layers
        return max(0, int(self.kv_bytes_per_gpu // self.page_bytes // self.num_layers))

    @property
    def kv_tokens(self) -> int:
        """Tokens of KV cache the replica holds (all running sequences together)."""
        return self.num_blocks * BLOCK_SIZE

    @property
    def request_bytes(self) -> int:
        """KV one request at max_model_len needs on each GPU (max_memory_usage_bytes)."""
        return math.ceil(self.max_model_len / BLOCK_SIZE) * self.page_bytes * self.num_layers

    @property
    def fits(self) -> bool:
        return self.kv_bytes_per_gpu >= self.request_bytes

    def sequences_at(self, context_tokens: int) -> int:
        """Sequences of `context_tokens` each that fit in the KV cache at once."""
        return self.num_blocks // math.ceil(context_tokens / BLOCK_SIZE)

    # GiB views, for messages and tables.
    @property
    def budget_gib(self) -> float:
        return self.budget_bytes / GIB

    @property
    def weights_gib_per_gpu(self) -> float:
        return self.weights_bytes_per_gpu / GIB

    @property
    def kv_gib_per_gpu(self) -> float:
        return self.kv_bytes_per_gpu / GIB

    @property
    def lora_gib_per_gpu(self) -> float:
        return self.lora_bytes_per_gpu / GIB

    @property
    def request_gib(self) -> float:
        return self.request_bytes / GIB

    @property
    def gpu_memory_gib(self) -> float:
        return self.gpu_memory_mib * MIB / GIB


def plan_memory(
    arch: LlmArchitecture,
    *,
    gpu: str,
    gpu_memory_mib: int,
    tensor_parallel: int,
    max_model_len: int,
    utilization: float = 0.90,
    dtype: str = "bfloat16",
    quantization: Quantization = "none",
    kv_cache_dtype: Literal["auto", "fp8"] = "auto",
    bytes_per_param: float | None = None,
    overhead_gib: float = NON_KV_OVERHEAD_GIB,
    lora_bytes_per_gpu: float = 0.0,
    pipeline_parallel: int = 1,
) -> MemoryPlan:
    """`pipeline_parallel` stages split the layers (one stage per node in a multi-node
    replica); each GPU then holds its stage's layers, split again by tensor parallelism. The
    busiest stage (the one with the most layers) decides the fit."""
    kv_dtype_bytes = 1 if kv_cache_dtype == "fp8" else DTYPE_BYTES[dtype]
    stage_layers = math.ceil(arch.num_layers / pipeline_parallel)
    stage = arch if pipeline_parallel == 1 else arch.model_copy(update={"num_layers": stage_layers})
    return MemoryPlan(
        gpu=gpu,
        gpu_memory_mib=gpu_memory_mib,
        utilization=utilization,
        tensor_parallel=tensor_parallel,
        weights_bytes_per_gpu=weight_bytes(arch, quantization, dtype, bytes_per_param)
        / (tensor_parallel * pipeline_parallel),
        overhead_bytes=overhead_gib * GIB,
        kv_bytes_per_token_per_gpu=kv_bytes_per_token(stage, kv_dtype_bytes, tensor_parallel),
        num_layers=stage_layers,
        max_model_len=max_model_len,
        lora_bytes_per_gpu=lora_bytes_per_gpu,
    )


def fit_problem(plan: MemoryPlan, instance_type: str, name: str) -> tuple[str, str] | None:
    """Why a vLLM replica would not start, as (which field to change, message); None if it fits.

    `name` says what the weights are (e.g. "llama-3.1-8b in bfloat16").
    """
    if plan.fits:
        return None
    usable = (
        f"vLLM may use {plan.budget_gib:.1f} GiB of each {plan.gpu} on {instance_type} "
        f"(gpu_memory_utilization {plan.utilization:g} x {plan.gpu_memory_gib:.1f} GiB as EC2 reports it)"
    )
    tp = plan.tensor_parallel
    adapters = (
        f", {plan.lora_gib_per_gpu:.2f} GiB to LoRA adapter slots (max_loras x max rank)"
        if plan.lora_bytes_per_gpu
        else ""
    )
    if plan.kv_tokens < SHORTEST_USEFUL_CONTEXT:
        left = (
            "nothing for the KV cache"
            if plan.kv_bytes_per_gpu <= 0
            else f"{plan.kv_gib_per_gpu:.2f} GiB for the KV cache, less than {SHORTEST_USEFUL_CONTEXT} tokens"
        )
        return "instance_type", (
            f"{name} needs {plan.weights_gib_per_gpu:.1f} GiB of weights per GPU with gpus={tp}, but {usable}, "
            f"and {plan.overhead_bytes / GIB:.1f} GiB of that goes to activations and CUDA graphs{adapters}, which "
            f"leaves {left}; use more GPUs per replica, quantize the weights (fp8, awq or gptq)"
            f"{', serve fewer adapters at once (max_loras)' if adapters else ''} or pick a GPU with more memory"
        )
    return "max_model_len", (
        f"one request at max_model_len {plan.max_model_len} needs {plan.request_gib:.2f} GiB of KV cache per GPU, "
        f"but {usable}, and after {plan.weights_gib_per_gpu:.1f} GiB of weights and "
        f"{plan.overhead_bytes / GIB:.1f} GiB of activations and CUDA graphs{adapters} only "
        f"{plan.kv_gib_per_gpu:.2f} GiB is left, so vLLM would refuse to start; set max_model_len to at most "
        f"{plan.kv_tokens:,}, use kv_cache_dtype fp8, raise gpu_memory_utilization"
        f"{', lower max_loras' if adapters else ''} or use more GPUs per replica"
    )


def triton_fit_problem(instances: int, mib_per_instance: int, gpu: str, gpu_memory_mib: int, instance_type: str) -> str | None:
    """Why the model instances of a Triton replica would not fit its GPU; None if they do."""
    needed = instances * mib_per_instance
    available = gpu_memory_mib - TRITON_CUDA_CONTEXT_MIB
    if needed <= available:
        return None
    return (
        f"{instances} GPU model instance(s) x {mib_per_instance:,} MiB = {needed:,} MiB, but the {gpu} of "
        f"{instance_type} reports {gpu_memory_mib:,} MiB and Triton's CUDA context takes about "
        f"{TRITON_CUDA_CONTEXT_MIB} MiB, leaving {available:,} MiB; lower the instance_groups count or "
        "gpu_memory_mib_per_instance, or pick a GPU with more memory"
    )
