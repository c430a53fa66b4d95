"""How long capacity takes to arrive on each target: the simulator's cold-start chain.

Every figure is a named assumption inside the ranges of performance-facts §3.2 and §4 (the
facts give ranges, not one number; node provisioning has only anecdotal sources). Measure
them in your own account and pass them to the simulator.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from components.compilers.keda import RESPONSE_TIMEOUT_S
from components.intent.cluster import GpuNodePool
from components.intent.model import ModelSpec

Target = Literal["eks", "sagemaker"]

# EKS chain (performance-facts §3.2 "simulator defaults", typical column).
NODE_PROVISION_S = 150.0  # EC2 launch, bootstrap, driver, device plugin: 90-180 s
IMAGE_PULL_S = 180.0  # a 10-20 GB serving image without SOCI: 120-360 s
# Weights stream from S3 with the Run:ai streamer (--load-format runai_streamer): an 8B model
# (15 GiB) in 8-20 s on the fast path, i.e. about 1 GiB/s.
STREAM_GIB_PER_S = 1.0
ENGINE_INIT_S = 90.0  # compile, CUDA-graph capture, profiling without a persisted cache: 60-180 s
TRITON_INIT_S = 20.0  # loading an ONNX/TensorRT model: an assumption
READINESS_S = 10.0  # the readiness probe's period (components/compilers/kserve.py)
# A managed node group warm pool hands over an initialised instance (assumptions). No
# `hibernated`: GPU instances cannot hibernate, and the intent refuses it (cold_start.py).
WARM_NODE_START_S = {"stopped": 60.0, "running": 10.0}

# Cold-start levers (components/intent/cold_start.py), each with its source.
# SOCI parallel pull/unpack: "reducing image pull time by up to 50%" (aws-samples/karpenter-blueprints,
# blueprints/soci-snapshotter README; AL2023 AMIs from v20250821). "Up to": the best case cited,
# taken as is, so this factor is optimistic until measured on our image.
SOCI_PARALLEL_PULL_FACTOR = 0.5
# A node-local compile cache: vLLM on L40S spent 200 s in Dynamo, compile, CUDA-graph capture and
# engine init with no cache and 64 s with its cache directory persisted (tensorfuse.io,
# performance-facts §3.2). Only a replica on a node that already ran the model finds the cache.
COMPILE_CACHE_ENGINE_FACTOR = 64.0 / 200.0
# Weights kept in the node cache on the NVMe array are read back locally: Hugging Face downloads,
# and a vLLM model's S3 prefix, which the image copies there once a replica is healthy
# (containers/vllm/weights_cache.py), so only a node that already ran the model has it; the first
# replica on a node streams as before. The Run:ai streamer read an 8B model from local io2 in
# 7.53 s (NVIDIA, performance-facts §3.2), ~2 GiB/s; NVMe instance store is assumed no slower.
LOCAL_NVME_GIB_PER_S = 2.0

# SageMaker: a new instance of an endpoint variant (an assumption; no first-party figure was
# found). SageMaker copies the model to /opt/ml/model before the container starts, which is
# slower than streaming.
SAGEMAKER_LAUNCH_S = 240.0
SAGEMAKER_DOWNLOAD_GIB_PER_S = 0.5

# Control-loop constants (performance-facts §4).
HPA_SYNC_S = 15.0  # --horizontal-pod-autoscaler-sync-period
HPA_TOLERANCE = 0.1
CA_SCAN_S = 10.0  # Cluster Autoscaler --scan-interval (default, recalled)
CA_SCALE_DOWN_UNNEEDED_S = 600.0  # Cluster Autoscaler --scale-down-unneeded-time (default, recalled)
OUR_SCRAPE_S = 15.0  # our PodMonitors' interval (components/compilers/monitoring.py)
OUR_KEDA_POLLING_S = 15.0  # our ScaledObjects' pollingInterval (components/compilers/keda.py)
DEFAULT_SCRAPE_S = 30.0  # a kube-prometheus-stack ServiceMonitor without an interval (recalled)
DEFAULT_KEDA_POLLING_S = 30.0  # KEDA's default pollingInterval
DEFAULT_KEDA_COOLDOWN_S = 300.0
# Clients and proxies give up after this: the timeout our HTTP add-on and routes are compiled with.
REQUEST_TIMEOUT_S = float(RESPONSE_TIMEOUT_S)


def cpu_request(model: ModelSpec) -> float:
    """CPUs a replica requests, as its pod is compiled (its share of the node's vCPUs less
    one for the system): what an HPA on CPU divides by."""
    from components.compilers.kserve import pod_size

    return float(pod_size(model).cpu)


@dataclass(frozen=True)
class Timings:
    """Seconds from "a replica is wanted" to "it serves", part by part."""

    target: Target
    node_provision_s: float
    image_pull_s: float
    weight_load_s: float
    engine_init_s: float
    warm_node_start_s: float | None = None
    warm_nodes: int = 0
    readiness_s: float = READINESS_S
    # On a node that already ran this model (its node cache holds the compile cache and any
    # cached weights); None: no node cache, the same as any node with the image.
    served_weight_load_s: float | None = None
    served_engine_init_s: float | None = None

    @property
    def on_ready_node_s(self) -> float:
        """A replica on a node that is up but has not pulled the image."""
        return self.image_pull_s + self.weight_load_s + self.engine_init_s + self.readiness_s

    @property
    def on_warm_slot_s(self) -> float:
        """A replica taking a warm-pool placeholder's GPUs: node up, image pulled."""
        return self.weight_load_s + self.engine_init_s + self.readiness_s

    @property
    def on_served_node_s(self) -> float:
        """A replica on a node that already ran this model: image there, node cache warm."""
        weights = self.weight_load_s if self.served_weight_load_s is None else self.served_weight_load_s
        engine = self.engine_init_s if self.served_engine_init_s is None else self.served_engine_init_s
        return weights + engine + self.readiness_s

    @property
    def cold_s(self) -> float:
        return self.node_provision_s + self.on_ready_node_s

    def scaled(self, factor: float) -> Timings:
        """The same chain, every provisioning and loading stage `factor` times as long."""
        return replace(
            self,
            node_provision_s=self.node_provision_s * factor,
            image_pull_s=self.image_pull_s * factor,
            weight_load_s=self.weight_load_s * factor,
            engine_init_s=self.engine_init_s * factor,
            warm_node_start_s=None if self.warm_node_start_s is None else self.warm_node_start_s * factor,
            served_weight_load_s=None if self.served_weight_load_s is None else self.served_weight_load_s * factor,
            served_engine_init_s=None if self.served_engine_init_s is None else self.served_engine_init_s * factor,
        )


def timings(model: ModelSpec, target: Target, pool: GpuNodePool | None = None) -> Timings:
    weights = model.weights_gib()
    init = ENGINE_INIT_S if model.runtime == "vllm" else TRITON_INIT_S
    if target == "sagemaker":
        return Timings(
            target="sagemaker",
            node_provision_s=SAGEMAKER_LAUNCH_S,
            image_pull_s=IMAGE_PULL_S,
            weight_load_s=weights / SAGEMAKER_DOWNLOAD_GIB_PER_S,
            engine_init_s=init,
        )
    warm = pool.warm_pool if pool is not None else None
    levers = pool.cold_start if pool is not None else None
    pull = IMAGE_PULL_S
    if levers is not None and levers.image_pull == "soci_parallel":
        pull *= SOCI_PARALLEL_PULL_FACTOR
    served_weights = served_engine = None
    if levers is not None and levers.compile_cache == "node":
        # Triton compiles nothing at start-up; its figure is loading, which a cache does not skip.
        served_engine = init * COMPILE_CACHE_ENGINE_FACTOR if model.runtime == "vllm" else init
        kept_on_node = model.source.startswith("hf://") or (model.runtime == "vllm" and model.source.startswith("s3://"))
        cached_download = kept_on_node and levers.instance_store == "raid0"
        served_weights = weights / LOCAL_NVME_GIB_PER_S if cached_download else weights / STREAM_GIB_PER_S
    return Timings(
        target="eks",
        node_provision_s=NODE_PROVISION_S,
        image_pull_s=pull,
        weight_load_s=weights / STREAM_GIB_PER_S,
        engine_init_s=init,
        warm_node_start_s=WARM_NODE_START_S[warm.state] if warm is not None else None,
        warm_nodes=warm.min_size if warm is not None else 0,
        served_weight_load_s=served_weights,
        served_engine_init_s=served_engine,
    )
