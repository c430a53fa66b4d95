"""Quantized checkpoints get a vLLM 0.31.0 kernel that runs in their dtype on their GPU."""
import pytest

from components.intent.instances import catalog
from components.intent.model import ModelSpec
from components.intent.quantization import KERNELS, kernel, quantization_problem
from tests.intent.helpers import VLLM, errors_of


@pytest.mark.parametrize("quantization", ["awq", "gptq", "fp8"])
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_the_kernel_chosen_accepts_the_dtype(quantization, dtype):
    assert dtype in kernel(quantization, dtype).dtypes


def test_the_plain_awq_and_gptq_kernels_are_fp16_only_so_bf16_takes_marlin():
    assert KERNELS["awq"].dtypes == KERNELS["gptq"].dtypes == ("float16",)
    assert (kernel("awq", "bfloat16").name, kernel("gptq", "bfloat16").name) == ("awq_marlin", "gptq_marlin")
    assert kernel("none", "bfloat16") is None


def test_every_catalog_gpu_runs_every_kernel():
    for name, gpu in catalog().gpus.items():
        for quantization in ("awq", "gptq", "fp8", "none"):
            for dtype in ("bfloat16", "float16"):
                assert quantization_problem(quantization, dtype, name, gpu.compute_capability, "x") is None


def test_marlin_runs_from_turing_but_bfloat16_needs_ampere():
    assert KERNELS["awq_marlin"].min_capability == KERNELS["gptq_marlin"].min_capability == 7.5


def test_below_capability_8_bf16_and_fp8_are_refused_at_the_limit():
    assert quantization_problem("awq", "float16", "T4", 7.5, "g4dn.xlarge") is None
    assert quantization_problem("awq", "bfloat16", "A100", 8.0, "p4d.24xlarge") is None
    assert quantization_problem("gptq", "bfloat16", "T4", 7.5, "g4dn.xlarge") == (
        "vLLM runs bfloat16 only on GPUs of compute capability 8.0 or newer; the T4 of g4dn.xlarge is 7.5: "
        "use dtype float16"
    )
    assert quantization_problem("fp8", "float16", "T4", 7.5, "g4dn.xlarge") == (
        "vLLM's fp8 kernel (fp8 in float16) needs compute capability 8.0 or newer; the T4 of g4dn.xlarge is 7.5"
    )


def test_a_model_on_a_gpu_below_the_kernels_capability_is_refused(monkeypatch):
    # No GPU of the catalog is below 8.0 today; pretend the L40S were, to see the rule fire.
    gpus = dict(catalog().gpus)
    monkeypatch.setitem(catalog().__dict__, "gpus", {**gpus, "L40S": gpus["L40S"].model_copy(update={"compute_capability": 7.5})})
    errors = errors_of(ModelSpec, {**VLLM, "vllm": {**VLLM["vllm"], "quantization": "awq"}})
    assert errors[("vllm", "quantization")] == (
        "vLLM runs bfloat16 only on GPUs of compute capability 8.0 or newer; the L40S of g6e.xlarge is 7.5: use dtype float16"
    )
