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
# A managed node group warm pool hands over an initialised instance (assumptions).
WARM_NODE_START_S = {"stopped": 60.0, "hibernated": 45.0, "running": 10.0}

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

    @property
    def on_ready_node_s(self) -> float:
        """A replica on a node that is up but has not pulled the image."""
        return self.image_pull_s + self.weight_load_s + self.engine_init_s + self.readiness_s

    @property
    def on_warm_slot_s(self) -> float:
        """A replica taking a warm-pool placeholder's GPUs: node up, image pulled."""
        return self.weight_load_s + self.engine_init_s + self.readiness_s

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
    return Timings(
        target="eks",
        node_provision_s=NODE_PROVISION_S,
        image_pull_s=IMAGE_PULL_S,
        weight_load_s=weights / STREAM_GIB_PER_S,
        engine_init_s=init,
        warm_node_start_s=WARM_NODE_START_S[warm.state] if warm is not None else None,
        warm_nodes=warm.min_size if warm is not None else 0,
    )
