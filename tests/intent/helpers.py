"""Assertion helpers for intent validation errors."""
from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError


def errors_of(model: type[BaseModel], data: dict[str, Any]) -> dict[tuple, str]:
    """{field path: message} of every problem pydantic reports for `data`."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return {tuple(e["loc"]): e["msg"].removeprefix("Value error, ") for e in caught.value.errors()}

# A valid vLLM and a valid Triton model, as a stack file would write them.
VLLM = {
    "name": "llama-8b",
    "runtime": "vllm",
    "source": "s3://bucket/llama/v1/",
    "instance_type": "g6e.xlarge",
    "vllm": {"architecture": "llama-3.1-8b", "max_model_len": 8192},
    "slo": {"ttft_p99_ms": 2500},
}
TRITON = {
    "name": "classifier",
    "runtime": "triton",
    "source": "s3://bucket/classifier/v1/",
    "instance_type": "g6.xlarge",
    "triton": {
        "platform": "onnxruntime_onnx",
        "max_batch_size": 8,
        "inputs": [{"name": "x", "data_type": "TYPE_FP32", "dims": [4]}],
        "outputs": [{"name": "y", "data_type": "TYPE_FP32", "dims": [2]}],
        "gpu_memory_mib_per_instance": 500,
    },
    "slo": {"latency_p99_ms": 100},
}
