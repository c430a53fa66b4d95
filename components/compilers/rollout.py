"""Which versions of a model run, with what share of requests and what replica bounds.

Each version is its own InferenceService named `<model>-<version>`, so promoting a
candidate never restarts anything: the candidate's InferenceService simply becomes the
stable one, and the old one is deleted.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from components.intent.cluster import GpuNodePool
from components.intent.lora import LoraAdapter
from components.intent.model import ModelSpec
from components.intent.stack import canary_replicas, own_variant_versions, peak_replicas, shadow_replicas


@dataclass(frozen=True)
class ServedVersion:
    model: ModelSpec
    version: str
    source: str
    # variant: an experiment arm of its own; shadow: sees mirrored requests only.
    role: Literal["stable", "candidate", "variant", "shadow"]
    weight: int  # percent of the model's unmarked requests (the default route)
    min_replicas: int
    max_replicas: int
    # LoRA adapters this version serves; an adapter canary swaps one adapter's weights.
    adapters: tuple[LoraAdapter, ...] = ()

    @property
    def name(self) -> str:
        """InferenceService name; KServe derives `<name>-predictor` (Deployment and Service)."""
        return f"{self.model.name}-{self.version}"

    @property
    def predictor(self) -> str:
        return f"{self.name}-predictor"


def served_versions(model: ModelSpec) -> list[ServedVersion]:
    policy = model.autoscaling
    canary = model.canary
    candidate_share = canary.traffic_percent if canary else 0
    adapters = tuple(model.vllm.adapters) if model.vllm is not None else ()
    versions = [
        ServedVersion(
            model=model,
            version=model.version,
            source=model.source,
            role="stable",
            weight=100 - candidate_share,
            min_replicas=policy.min_replicas,
            max_replicas=policy.max_replicas,
            adapters=adapters,
        )
    ]
    if canary is not None:
        # The candidate scales on its own queue, up to its share of the stable ceiling; it
        # keeps one replica while dark so moving back up a step needs no cold start.
        versions.append(
            ServedVersion(
                model=model,
                version=canary.version,
                source=model.source if canary.adapter else canary.source,
                role="candidate",
                weight=candidate_share,
                min_replicas=1,
                max_replicas=canary_replicas(model),
                adapters=_candidate_adapters(adapters, canary.adapter, canary.source, canary.version),
            )
        )
    # Experiment arms and shadows keep one replica: requests to them are never queued behind a cold start.
    for version, source in own_variant_versions(model):
        versions.append(
            ServedVersion(model, version, source, "variant", 0, 1, policy.max_replicas)
        )
    if model.shadow is not None:
        versions.append(
            ServedVersion(model, model.shadow.version, model.shadow.source, "shadow", 0, 1, shadow_replicas(model))
        )
    return versions


def _candidate_adapters(
    adapters: tuple[LoraAdapter, ...], target: str | None, source: str, version: str
) -> tuple[LoraAdapter, ...]:
    """The candidate serves the stable adapters, except the one an adapter canary replaces."""
    if target is None:
        return adapters
    return tuple(
        a.model_copy(update={"source": source, "version": version}) if a.name == target else a for a in adapters
    )


def pool_of(model: ModelSpec, pools: list[GpuNodePool]) -> GpuNodePool:
    """The GPU pool a model runs on: the one offering its instance type (validated to exist)."""
    return next(pool for pool in pools if model_pool_matches(model, pool))


def surge_allowed(model: ModelSpec, pool: GpuNodePool, models: list[ModelSpec]) -> bool:
    """A rolling update may start a new replica before stopping an old one only if the pool
    has GPUs to spare for it even when every model on the pool is at its peak."""
    on_pool = [m for m in models if model_pool_matches(m, pool)]
    peak = sum(peak_replicas(m) * m.gpus for m in on_pool)
    return pool.max_size * pool.gpus_per_node - peak >= model.gpus


def model_pool_matches(model: ModelSpec, pool: GpuNodePool) -> bool:
    return model.instance_type in pool.instance_types
