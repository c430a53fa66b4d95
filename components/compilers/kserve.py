"""KServe objects: our ClusterServingRuntimes and one InferenceService per served version."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from components.compilers.helm_values import MAX_NODE_PROVISION_S
from components.compilers.node_groups import GPU_LABEL, GPU_TAINT_KEY, POOL_LABEL
from components.compilers.rollout import ServedVersion
from components.compilers.serving import MODEL_PRIORITY_CLASS, MODEL_SERVICE_ACCOUNT, MODELS_NAMESPACE
from components.compilers.triton import config_digest
from components.intent.base import hf_repository
from components.intent.instances import catalog
from components.intent.model import ModelSpec
from components.intent.quantization import kernel

Manifest = dict[str, Any]

RUNTIME_NAMES = {"vllm": "ml-serving-vllm", "triton": "ml-serving-triton"}
MODEL_FORMATS = {"vllm": ("vllm", "1"), "triton": ("triton", "2")}
HTTP_PORT = 8080
# checkov findings on model pods that are decisions, each with its reason (checkov's skip
# annotation; tests/security/test_checkov.py scans the Deployment KServe makes from this).
CHECKOV_SKIPS = {
    "checkov.io/skip1": "CKV_K8S_11=no CPU limit on purpose: CFS throttling stalls the engine loop and tokenizer "
    "under bursts; the pod requests its share of the node and the GPU limit bounds it",
    "checkov.io/skip2": "CKV_K8S_40=the serving images run as uid 1000 (containers/*/Dockerfile), non-root and "
    "with no host user of that uid on EKS nodes",
}
TRITON_METRICS_PORT = 8002
CONTAINER = "kserve-container"
RUNTIME_LABEL = "ml-serving/runtime"
MODEL_LABEL = "ml-serving/model"
VERSION_LABEL = "ml-serving/version"
UID = 1000
# Writable places for an otherwise read-only root filesystem: compile and kernel caches.
CACHE_DIR = "/cache"
WEIGHTS_CACHE_ENV = "ML_SERVING_WEIGHTS_CACHE"
WEIGHTS_CACHE_DIR = f"{CACHE_DIR}/weights"
GPU_TOLERATION = {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}
HF_TOKEN_SECRET = "hf-token"
# LoRA adapters are copied here by the init container; vLLM reads them from local disk only.
ADAPTER_DIR = "/adapters"
FETCH_ADAPTERS = "/usr/local/bin/ml-serving-fetch-adapters"
TRITON_CONFIG_ANNOTATION = "ml-serving/triton-config"

CONTAINER_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": UID,
    "runAsGroup": UID,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": UID,
    "runAsGroup": UID,
    "fsGroup": UID,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def cluster_serving_runtime(runtime: str, image: str) -> Manifest:
    """Runtime-wide container settings; per-model flags come from each InferenceService."""
    fmt, version = MODEL_FORMATS[runtime]
    ports = [{"name": "http1", "containerPort": HTTP_PORT, "protocol": "TCP"}]
    if runtime == "vllm":
        args = [f"--port={HTTP_PORT}"]
        env = [
            {"name": "HOME", "value": CACHE_DIR},
            {"name": "XDG_CACHE_HOME", "value": CACHE_DIR},
            {"name": "HF_HOME", "value": f"{CACHE_DIR}/huggingface"},
            {"name": "VLLM_CACHE_ROOT", "value": f"{CACHE_DIR}/vllm"},
        ]
    else:
        args = [
            f"--http-port={HTTP_PORT}",
            "--grpc-port=9000",
            f"--metrics-port={TRITON_METRICS_PORT}",
            "--allow-metrics=true",
            # Per-request latency quantiles for the latency SLO and canary gates.
            "--metrics-config=summary_latencies=true",
        ]
        env = [{"name": "HOME", "value": CACHE_DIR}]
        # Declared so the PodMonitor can scrape it (undeclared ports are dropped).
        ports.append({"name": "metrics", "containerPort": TRITON_METRICS_PORT, "protocol": "TCP"})
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ClusterServingRuntime",
        "metadata": {"name": RUNTIME_NAMES[runtime], "labels": {RUNTIME_LABEL: runtime}},
        "spec": {
            "supportedModelFormats": [{"name": fmt, "version": version, "autoSelect": False}],
            "protocolVersions": ["v2"] if runtime == "triton" else ["v1"],
            "containers": [
                {
                    "name": CONTAINER,
                    "image": image,
                    "args": args,
                    "env": env,
                    "ports": ports,
                    "securityContext": CONTAINER_SECURITY,
                }
            ],
            "nodeSelector": {GPU_LABEL: "true"},
            "tolerations": [GPU_TOLERATION],
        },
    }


@dataclass(frozen=True)
class PodSize:
    cpu: str
    memory: str
    shm: str


def pod_size(model: ModelSpec) -> PodSize:
    """A replica's share of its node: CPU and memory split by replicas per node, leaving room
    for the kubelet and the node's daemons. /dev/shm is memory-backed and counts against it."""
    itype = catalog().instances[model.instance_type]
    # A replica across nodes has one pod per node, each holding the whole node.
    per_node = max(1, itype.gpu_count // model.gpus)
    cpu = max(1, math.floor(itype.vcpus / per_node) - 1)
    memory_gib = max(4, math.floor(itype.memory_gib / per_node * 0.75))
    shm_gib = 2 if model.gpus == 1 else min(16, 4 * min(model.gpus, itype.gpu_count))
    return PodSize(cpu=str(cpu), memory=f"{memory_gib}Gi", shm=f"{shm_gib}Gi")


# Pulling a 10-20 GB serving image onto a fresh node (performance-facts §3.2: 2-6 min).
IMAGE_PULL_S = 360


def cold_start_budget_s(model: ModelSpec) -> int:
    """How long a version at zero replicas may take to serve its first request: a GPU node
    from zero, the image pull, then the container's own start-up."""
    return MAX_NODE_PROVISION_S + IMAGE_PULL_S + startup_budget_s(model.weights_gib())


def startup_budget_s(weights_gib: float) -> int:
    """Seconds a replica may take to become ready: download or stream the weights, compile,
    capture CUDA graphs. Grows with the model (performance-facts §3.2: ~5 min uncached for 8B)."""
    return int(300 + 15 * weights_gib)


def _probes(runtime: str, weights_gib: float) -> dict[str, Any]:
    ready = "/health" if runtime == "vllm" else "/v2/health/ready"
    live = "/health" if runtime == "vllm" else "/v2/health/live"
    period = 10
    return {
        "startupProbe": {
            "httpGet": {"path": live, "port": HTTP_PORT},
            "periodSeconds": period,
            "failureThreshold": math.ceil(startup_budget_s(weights_gib) / period),
            "timeoutSeconds": 5,
        },
        "readinessProbe": {
            "httpGet": {"path": ready, "port": HTTP_PORT},
            "periodSeconds": period,
            "failureThreshold": 3,
            "timeoutSeconds": 5,
        },
        "livenessProbe": {
            "httpGet": {"path": live, "port": HTTP_PORT},
            "periodSeconds": 30,
            "failureThreshold": 5,
            "timeoutSeconds": 10,
        },
    }


def vllm_args(served: ServedVersion) -> list[str]:
    """The `vllm serve` flags of a served version (multi-node groups add their own)."""
    return _vllm_args(served)


def _vllm_args(served: ServedVersion) -> list[str]:
    model = served.model
    engine = model.vllm
    assert engine is not None
    if served.source.startswith("s3://"):
        # Stream safetensors from S3 straight to the GPU: no copy to local disk first.
        where = [f"--model={served.source}", "--load-format=runai_streamer"]
    else:
        repository, revision = hf_repository(served.source)
        # A pinned revision (a commit) keeps a restart from loading weights pushed since.
        where = [f"--model={repository}", *([f"--revision={revision}"] if revision else [])]
    args = [
        *where,
        f"--served-model-name={model.name}",
        f"--max-model-len={engine.max_model_len}",
        f"--gpu-memory-utilization={engine.gpu_memory_utilization}",
        f"--dtype={engine.dtype}",
        f"--tensor-parallel-size={tensor_parallel(model)}",
        f"--max-num-seqs={engine.max_num_seqs}",
    ]
    chosen = kernel(engine.quantization, engine.dtype)
    if chosen is not None:
        # The kernel, not the checkpoint format: vLLM's plain AWQ/GPTQ kernels are fp16-only.
        args.append(f"--quantization={chosen.name}")
    if engine.kv_cache_dtype != "auto":
        args.append(f"--kv-cache-dtype={engine.kv_cache_dtype}")
    args.extend(_lora_args(served))
    return args


def tensor_parallel(model: ModelSpec) -> int:
    """GPUs one tensor-parallel group spans: the replica's GPUs, at most one node's."""
    return min(model.gpus, catalog().instances[model.instance_type].gpu_count)


def adapter_path(name: str) -> str:
    return f"{ADAPTER_DIR}/{name}"


def _lora_args(served: ServedVersion) -> list[str]:
    """Static adapters, loaded at start-up. Runtime loading (VLLM_ALLOW_RUNTIME_LORA_UPDATING)
    stays off: it opens an unauthenticated load endpoint, and an adapter a replica loaded on
    request is gone after a restart, so the stack file would not say what is served."""
    engine = served.model.vllm
    assert engine is not None
    if not served.adapters:
        return []
    modules = [
        json.dumps(
            {"name": a.name, "path": adapter_path(a.name), "base_model_name": served.model.name},
            separators=(",", ":"),
        )
        for a in served.adapters
    ]
    return [
        "--enable-lora",
        f"--max-loras={engine.resolved_max_loras()}",
        f"--max-lora-rank={max(a.rank for a in served.adapters)}",
        f"--max-cpu-loras={engine.resolved_max_cpu_loras()}",
        "--lora-modules",
        *modules,
    ]


def _adapter_fetch(served: ServedVersion, image: Any, region: str) -> list[Manifest]:
    """The init container that copies each adapter's S3 folder to the adapters volume."""
    if not served.adapters:
        return []
    return [
        {
            "name": "fetch-adapters",
            "image": image,
            "command": [FETCH_ADAPTERS],
            "args": [f"{a.source}={adapter_path(a.name)}" for a in served.adapters],
            "env": [{"name": "AWS_REGION", "value": region}, {"name": "AWS_DEFAULT_REGION", "value": region}],
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
            "volumeMounts": [{"name": "adapters", "mountPath": ADAPTER_DIR}],
            "securityContext": CONTAINER_SECURITY,
        }
    ]


def _triton_args(served: ServedVersion) -> list[str]:
    # The source prefix is a Triton model repository; load only this model from it.
    return [
        f"--model-repository={served.source}",
        "--model-control-mode=explicit",
        f"--load-model={served.model.name}",
    ]


def _env(served: ServedVersion, region: str, cache_s3_weights: bool = False) -> list[dict[str, Any]]:
    env = [{"name": "AWS_REGION", "value": region}, {"name": "AWS_DEFAULT_REGION", "value": region}]
    if cache_s3_weights and served.model.runtime == "vllm" and served.source.startswith("s3://"):
        # The image's entrypoint loads this node's copy when it is current, else streams and copies
        # it there once the replica is healthy (containers/vllm/weights_cache.py).
        env.append({"name": WEIGHTS_CACHE_ENV, "value": WEIGHTS_CACHE_DIR})
    if served.source.startswith("hf://"):
        # Gated models need a token; an absent secret leaves public models working.
        env.append(
            {
                "name": "HF_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": HF_TOKEN_SECRET, "key": "token", "optional": True}},
            }
        )
    return env


def _restart_on_config_change(model: ModelSpec) -> dict[str, Any]:
    if model.triton is None:
        return {}
    return {"annotations": {TRITON_CONFIG_ANNOTATION: config_digest(model.name, model.triton)}}


def version_labels(served: ServedVersion) -> dict[str, str]:
    """Labels of a version's InferenceService and pods. KServe copies them onto the pod
    template, so nothing that changes on promotion (stable or candidate) may be among them:
    promoting a candidate must not restart it."""
    return {
        RUNTIME_LABEL: served.model.runtime,
        MODEL_LABEL: served.model.name,
        VERSION_LABEL: served.version,
    }


def _cache_volume(node_cache: str | None) -> dict[str, Any]:
    if node_cache is None:
        return {"name": "cache", "emptyDir": {}}
    # The node's cache directory (made by the launch template, owned by the serving uid):
    # the next replica on this node reuses the compile cache instead of recompiling.
    # `Directory`, not DirectoryOrCreate: a node without it fails the mount loudly rather than
    # hand the pod a root-owned directory it cannot write.
    return {"name": "cache", "hostPath": {"path": node_cache, "type": "Directory"}}


def inference_service(
    served: ServedVersion,
    pool_name: str,
    region: str,
    surge: bool,
    image: Any = None,
    node_cache: str | None = None,
    cache_s3_weights: bool = False,
) -> Manifest:
    """One version of a model, in Standard mode, scaled by our own KEDA ScaledObject.
    `image` is the runtime's image, which the adapter init container runs; `node_cache` the
    pool's node cache directory (compile_cache node), else an emptyDir; `cache_s3_weights` keeps
    a vLLM replica's S3 weights there for the next one (the node cache on the NVMe array)."""
    if cache_s3_weights and node_cache is None:
        raise ValueError(f"{served.name}: S3 weights can only be cached in a node cache directory")
    model = served.model
    size = pod_size(model)
    gpus = str(model.gpus)
    args = _vllm_args(served) if model.runtime == "vllm" else _triton_args(served)
    fmt, fmt_version = MODEL_FORMATS[model.runtime]
    labels = version_labels(served)
    init = _adapter_fetch(served, image, region)
    if init and image is None:
        raise ValueError(f"{served.name} serves LoRA adapters; pass the runtime image for their init container")
    adapter_volume = [{"name": "adapters", "emptyDir": {}}] if init else []
    adapter_mount = [{"name": "adapters", "mountPath": ADAPTER_DIR, "readOnly": True}] if init else []
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": served.name,
            "namespace": MODELS_NAMESPACE,
            "labels": labels,
            "annotations": {
                # Written literally: KServe's webhook would add it and show a permanent diff.
                "serving.kserve.io/deploymentMode": "Standard",
                # Our ScaledObject adds activation, idle-to-zero, fallback and HPA policies,
                # which KServe's generated one drops.
                "serving.kserve.io/autoscalerClass": "external",
                **CHECKOV_SKIPS,
            },
        },
        "spec": {
            "predictor": {
                "labels": labels,
                **_restart_on_config_change(model),
                "minReplicas": served.min_replicas,
                "maxReplicas": served.max_replicas,
                "serviceAccountName": MODEL_SERVICE_ACCOUNT,
                # No Kubernetes API token in model pods; Pod Identity mounts its own (see serving.py).
                "automountServiceAccountToken": False,
                "priorityClassName": MODEL_PRIORITY_CLASS,
                "nodeSelector": {POOL_LABEL: pool_name},
                "tolerations": [GPU_TOLERATION],
                "securityContext": POD_SECURITY,
                # Spread replicas over zones, but never keep one pending for it: GPU capacity
                # is often in one zone only.
                "topologySpreadConstraints": [
                    {
                        "maxSkew": 1,
                        "topologyKey": "topology.kubernetes.io/zone",
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": {"serving.kserve.io/inferenceservice": served.name}},
                    }
                ],
                # With no spare GPU for a surge replica, a surge rollout would wait forever.
                "deploymentStrategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}
                    if surge
                    else {"maxSurge": 0, "maxUnavailable": 1},
                },
                "terminationGracePeriodSeconds": 120,
                "volumes": [
                    {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": size.shm}},
                    _cache_volume(node_cache),
                    {"name": "tmp", "emptyDir": {}},
                    *adapter_volume,
                ],
                **({"initContainers": init} if init else {}),
                "model": {
                    "modelFormat": {"name": fmt, "version": fmt_version},
                    "runtime": RUNTIME_NAMES[model.runtime],
                    "args": args,
                    "env": _env(served, region, cache_s3_weights),
                    "resources": {
                        "requests": {"cpu": size.cpu, "memory": size.memory, "nvidia.com/gpu": gpus},
                        "limits": {"memory": size.memory, "nvidia.com/gpu": gpus},
                    },
                    "volumeMounts": [
                        {"name": "dshm", "mountPath": "/dev/shm"},
                        {"name": "cache", "mountPath": CACHE_DIR},
                        {"name": "tmp", "mountPath": "/tmp"},
                        *adapter_mount,
                    ],
                    "securityContext": CONTAINER_SECURITY,
                    **_probes(model.runtime, model.weights_gib()),
                },
            }
        },
    }
