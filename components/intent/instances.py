"""The GPU instance catalog the intent is checked against (data/instances.yaml)."""
from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import Field, model_validator

from components.intent.base import Spec


class Source(Spec):
    what: str
    where: str
    as_of: str
    note: str = ""


class Price(Spec):
    value: float = Field(gt=0)
    source: str


class Gpu(Spec):
    memory_mib: int = Field(gt=0)
    bandwidth_gb_s: float = Field(gt=0)
    # Dense (no 2:4 sparsity) 16-bit tensor throughput: the planner's prefill time.
    bf16_tflops: float = Field(gt=0)
    # CUDA compute capability (8.6 = sm_86): which vLLM kernels the GPU can run.
    compute_capability: float = Field(ge=3, le=20)
    source: str
    bandwidth_source: str
    tflops_source: str
    capability_source: str


class InstanceType(Spec):
    gpu: str
    gpu_count: int = Field(ge=1, le=16)
    vcpus: int = Field(ge=1)
    memory_gib: int = Field(ge=1)
    # NVMe instance store in GB (0: none); included in the instance price, wiped on stop.
    instance_store_gb: int = Field(ge=0)
    instance_store_source: str
    source: str
    ec2_usd_per_hour: Price
    sagemaker_usd_per_hour: Price | None = None
    sagemaker: bool


class Premium(Spec):
    factor: float = Field(gt=1)
    source: str


class Catalog(Spec):
    sources: dict[str, Source]
    gpus: dict[str, Gpu]
    sagemaker_price_premium: Premium
    instances: dict[str, InstanceType]

    @model_validator(mode="after")
    def _references_resolve(self) -> Catalog:
        cited = {self.sagemaker_price_premium.source}
        for gpu in self.gpus.values():
            cited |= {gpu.source, gpu.bandwidth_source, gpu.tflops_source, gpu.capability_source}
        for name, itype in self.instances.items():
            if itype.gpu not in self.gpus:
                raise ValueError(f"instance {name} names unknown GPU {itype.gpu}")
            cited |= {itype.source, itype.instance_store_source, itype.ec2_usd_per_hour.source}
            if itype.sagemaker_usd_per_hour:
                cited.add(itype.sagemaker_usd_per_hour.source)
        missing = sorted(cited - set(self.sources))
        if missing:
            raise ValueError(f"figures cite undefined sources: {', '.join(missing)}")
        return self

    def gpu_of(self, instance: str) -> Gpu:
        return self.gpus[self.instances[instance].gpu]


@cache
def catalog() -> Catalog:
    text = resources.files("components.intent").joinpath("data/instances.yaml").read_text()
    return Catalog.model_validate(yaml.safe_load(text))


def sagemaker_instance(instance: str) -> str:
    """SageMaker names the same hardware with an `ml.` prefix."""
    return f"ml.{instance}"
