"""Which vLLM 0.31.0 kernel a quantized checkpoint runs with, for its dtype and GPU.

Facts from vLLM's quantization configs (vllm/model_executor/layers/quantization/: awq.py,
awq_marlin.py, gptq.py, gptq_marlin.py, fp8.py; `get_supported_act_dtypes` and
`get_min_capability`, read in the vllm-project/vllm sources). vLLM refuses to start when
the dtype is not among a config's activation dtypes ("torch.bfloat16 is not supported for
quantization method awq") or the GPU is below its minimum capability, so the pod would
crash-loop: the intent rejects what no kernel accepts, and the compilers name the kernel.

- awq and gptq (plain kernels): float16 only. An explicit `--quantization=awq` makes vLLM
  skip its own upgrade to awq_marlin ("forcing awq"), so bfloat16 must name the marlin kernel.
- awq_marlin and gptq_marlin: float16 and bfloat16. Minimum capability 7.5 since vLLM PR
  #29901 (Marlin on Turing, documented by PR #34319, 2026-02; gptq_marlin.py of 2026 returns
  75; older releases said 80). They take the usual 4- and 8-bit checkpoints (group size -1,
  32, 64 or 128; GPTQ symmetric); other checkpoints need dtype float16 and the plain kernel.
- fp8: float16 and bfloat16, capability 8.0 and up (fp8.py as read; not re-read at 0.31.0);
  below 8.9 (no FP8 tensor cores) vLLM runs it as weight-only FP8 through the marlin kernel.
- bfloat16 itself needs capability 8.0 (Turing has no bfloat16), whatever the kernel.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kernel:
    name: str
    dtypes: tuple[str, ...]
    min_capability: float


KERNELS = {
    "awq": Kernel("awq", ("float16",), 7.5),
    "awq_marlin": Kernel("awq_marlin", ("float16", "bfloat16"), 7.5),
    "gptq": Kernel("gptq", ("float16",), 6.0),
    "gptq_marlin": Kernel("gptq_marlin", ("float16", "bfloat16"), 7.5),
    "fp8": Kernel("fp8", ("bfloat16", "float16"), 8.0),
}
BF16_MIN_CAPABILITY = 8.0
# The kernel for a checkpoint's quantization and the activation dtype.
_CHOICE = {
    ("awq", "float16"): "awq",
    ("awq", "bfloat16"): "awq_marlin",
    ("gptq", "float16"): "gptq",
    ("gptq", "bfloat16"): "gptq_marlin",
    ("fp8", "float16"): "fp8",
    ("fp8", "bfloat16"): "fp8",
}


def kernel(quantization: str, dtype: str) -> Kernel | None:
    """The kernel `--quantization` names (None: unquantized)."""
    if quantization == "none":
        return None
    return KERNELS[_CHOICE[(quantization, dtype)]]


def quantization_problem(quantization: str, dtype: str, gpu: str, capability: float, instance: str) -> str | None:
    """Why vLLM 0.31.0 would refuse this combination on this GPU, or None."""
    if dtype == "bfloat16" and capability < BF16_MIN_CAPABILITY:
        return (
            f"vLLM runs bfloat16 only on GPUs of compute capability {BF16_MIN_CAPABILITY} or newer; the {gpu} "
            f"of {instance} is {capability}: use dtype float16"
        )
    chosen = kernel(quantization, dtype)
    if chosen is None:
        return None
    assert dtype in chosen.dtypes
    if capability < chosen.min_capability:
        return (
            f"vLLM's {chosen.name} kernel ({quantization} in {dtype}) needs compute capability "
            f"{chosen.min_capability} or newer; the {gpu} of {instance} is {capability}"
        )
    return None
