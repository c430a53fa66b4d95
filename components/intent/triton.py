"""TritonModelConfig: the typed form of a Triton `config.pbtxt`."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from components.intent.base import Problems, Spec, pattern_check

TritonDataType = Literal[
    "TYPE_BOOL", "TYPE_UINT8", "TYPE_UINT16", "TYPE_UINT32", "TYPE_UINT64",
    "TYPE_INT8", "TYPE_INT16", "TYPE_INT32", "TYPE_INT64",
    "TYPE_FP16", "TYPE_BF16", "TYPE_FP32", "TYPE_FP64", "TYPE_STRING",
]

TensorName = Annotated[
    str,
    pattern_check(r"[A-Za-z_][A-Za-z0-9_.:/-]{0,127}", "tensor names are identifiers as the model exported them"),
]


class TritonTensor(Spec):
    name: TensorName
    data_type: TritonDataType
    dims: list[Annotated[int, Field(ge=-1, le=1_000_000)]] = Field(
        min_length=1,
        max_length=8,
        description="Shape without the batch dimension; -1 for a variable size.",
    )

    @model_validator(mode="after")
    def _no_zero_dims(self) -> TritonTensor:
        if 0 in self.dims:
            problems = Problems(self)
            problems.add(("dims",), f"dimensions are -1 (variable) or positive; got {self.dims}", self.dims)
            problems.raise_if_any()
        return self


class DynamicBatching(Spec):
    preferred_batch_size: list[Annotated[int, Field(ge=1, le=4096)]] = Field(
        default_factory=list, max_length=8, description="Batch sizes the scheduler tries to form."
    )
    max_queue_delay_microseconds: int = Field(
        0, ge=0, le=1_000_000, description="How long a request may wait for a batch to fill."
    )


class InstanceGroup(Spec):
    kind: Literal["KIND_GPU", "KIND_CPU"] = "KIND_GPU"
    count: int = Field(1, ge=1, le=16, description="Model instances per GPU (or per pod for CPU).")


class TritonModelConfig(Spec):
    """What Triton needs to serve one model from the model repository."""

    platform: Literal["onnxruntime_onnx", "tensorrt_plan", "pytorch_libtorch", "tensorflow_savedmodel"]
    max_batch_size: int = Field(
        0, ge=0, le=4096, description="Largest batch Triton forms; 0 disables batching."
    )
    inputs: list[TritonTensor] = Field(min_length=1, max_length=64)
    outputs: list[TritonTensor] = Field(min_length=1, max_length=64)
    dynamic_batching: DynamicBatching | None = None
    instance_groups: list[InstanceGroup] = Field(
        default_factory=lambda: [InstanceGroup()], min_length=1, max_length=4
    )
    gpu_memory_mib_per_instance: int = Field(
        ge=1,
        le=200_000,
        description="GPU memory one model instance holds (weights plus workspace); used by the fit check.",
    )

    @model_validator(mode="after")
    def _batching_is_consistent(self) -> TritonModelConfig:
        problems = Problems(self)
        if self.dynamic_batching is not None:
            if self.max_batch_size == 0:
                problems.add(
                    ("dynamic_batching",),
                    "dynamic batching needs max_batch_size > 0",
                )
            too_big = [b for b in self.dynamic_batching.preferred_batch_size if b > self.max_batch_size]
            if too_big and self.max_batch_size:
                problems.add(
                    ("dynamic_batching", "preferred_batch_size"),
                    f"preferred batch sizes {too_big} exceed max_batch_size ({self.max_batch_size})",
                )
        names = [t.name for t in self.inputs] + [t.name for t in self.outputs]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            problems.add(("inputs",), f"tensor names must be unique; repeated: {', '.join(repeated)}")
        problems.raise_if_any()
        return self
