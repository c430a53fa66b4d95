"""A model replica across nodes: one LeaderWorkerSet per served version, each group one
replica (a leader pod serving the API and `nodes - 1` headless workers), vLLM's native
multi-node launch (tensor parallel inside a node, one pipeline stage per node).

LeaderWorkerSet directly rather than KServe's multi-node path: KServe v0.20.0 multi-node
InferenceServices run Ray clusters and do not autoscale, while a LeaderWorkerSet scales whole
groups through its scale subresource (our KEDA ScaledObject), restarts a group as a unit, and
rolls out group by group. The version's Service keeps KServe's `<name>-predictor` name so the
route, the interceptor-free canary split and the alerts address it as any other version.
"""
from __future__ import annotations

from typing import Any

from components.compilers.kserve import (
    CACHE_DIR,
    CHECKOV_SKIPS,
    CONTAINER_SECURITY,
    GPU_TOLERATION,
    HTTP_PORT,
    MODEL_LABEL,
    POD_SECURITY,
    RUNTIME_LABEL,
    VERSION_LABEL,
    _env,
    _probes,
    pod_size,
    tensor_parallel,
    vllm_args,
)
from components.compilers.node_groups import POOL_LABEL
from components.compilers.rollout import ServedVersion
from components.compilers.serving import MODEL_PRIORITY_CLASS, MODEL_SERVICE_ACCOUNT, MODELS_NAMESPACE
from components.intent.efa import EFA_NETWORK_CARDS, EFA_RESOURCE

Manifest = dict[str, Any]

LWS_API = "leaderworkerset.x-k8s.io/v1"
GROUP_LABEL = "leaderworkerset.sigs.k8s.io/name"
WORKER_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/worker-index"
ISVC_LABEL = "serving.kserve.io/inferenceservice"
# vLLM's multi-node rendezvous (ParallelConfig.master_port default).
MASTER_PORT = 29501
WORKER_CHECKOV_SKIPS = {
    "checkov.io/skip3": "CKV_K8S_8=a worker serves no HTTP endpoint to probe; a worker that dies takes its group "
    "down and RecreateGroupOnPodRestart recreates the whole group",
    "checkov.io/skip4": "CKV_K8S_9=a worker takes no requests (only the leader is behind the Service), so there is "
    "nothing for readiness to gate",
}


# How NCCL crosses nodes in a group: through the aws-ofi-nccl plugin and libfabric's efa provider,
# which our vLLM image installs (containers/vllm/Dockerfile, EFA installer 1.51.0) and single-node
# pods never load. NCCL_NET_PLUGIN=ofi has NCCL dlopen libnccl-net-ofi.so (the image puts it in the
# loader's cache; NCCL's default name, libnccl-net.so, is not what the installer lays down).
# NCCL_NET names the plugin's network, so a group that cannot use it fails at start
# (MLServingGroupNotReady) instead of serving over NCCL's socket transport unnoticed.
# FI_PROVIDER=efa keeps libfabric off its tcp provider. FI_EFA_USE_DEVICE_RDMA is left unset:
# aws-ofi-nccl's EFA cheatsheet (doc/efa-env-var.md) says not to set it with libfabric >= 1.18 and
# the plugin >= 1.7, where GPUDirect RDMA is on by default on p4d/p4de/p5/p5en.
EFA_ENV = [
    {"name": "FI_PROVIDER", "value": "efa"},
    {"name": "NCCL_NET_PLUGIN", "value": "ofi"},
    {"name": "NCCL_NET", "value": "Libfabric"},
]


def efa_devices(served: ServedVersion) -> dict[str, str]:
    """Every EFA interface of the node: one pod of a group takes the whole node."""
    return {EFA_RESOURCE: str(EFA_NETWORK_CARDS[served.model.instance_type])}


def is_multinode(served: ServedVersion) -> bool:
    return served.model.nodes_per_replica() > 1


def _pod(served: ServedVersion, pool_name: str, region: str, image: Any, leader: bool) -> Manifest:
    model = served.model
    size = pod_size(model)
    gpus = str(tensor_parallel(model))
    nodes = model.nodes_per_replica()
    base = {MODEL_LABEL: model.name, VERSION_LABEL: served.version}
    # Only the leader serves HTTP and /metrics: it alone carries the labels the PodMonitor,
    # the metric selectors and the Service select on.
    labels = {**base, RUNTIME_LABEL: "vllm", ISVC_LABEL: served.name} if leader else base
    rank = ["--node-rank=0"] if leader else ["--node-rank=$(NODE_RANK)", "--headless"]
    args = [
        *vllm_args(served),
        f"--pipeline-parallel-size={nodes}",
        f"--nnodes={nodes}",
        *rank,
        "--master-addr=$(LWS_LEADER_ADDRESS)",
        f"--master-port={MASTER_PORT}",
        f"--port={HTTP_PORT}",
    ]
    env = [*_env(served, region), *EFA_ENV]
    if not leader:
        env.append(
            {"name": "NODE_RANK", "valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['{WORKER_INDEX_LABEL}']"}}}
        )
    container: Manifest = {
        "name": "vllm",
        "image": image,
        "args": args,
        "env": env,
        "resources": {
            "requests": {"cpu": size.cpu, "memory": size.memory, "nvidia.com/gpu": gpus, **efa_devices(served)},
            "limits": {"memory": size.memory, "nvidia.com/gpu": gpus, **efa_devices(served)},
        },
        "volumeMounts": [
            {"name": "dshm", "mountPath": "/dev/shm"},
            {"name": "cache", "mountPath": CACHE_DIR},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "securityContext": CONTAINER_SECURITY,
    }
    if leader:
        container["ports"] = [{"name": "http1", "containerPort": HTTP_PORT, "protocol": "TCP"}]
        container.update(_probes("vllm", model.weights_gib()))
    # Scanner decisions on the template they apply to (rendered_workloads carries them over).
    skips = {} if leader else WORKER_CHECKOV_SKIPS
    return {
        "metadata": {"labels": labels, **({"annotations": skips} if skips else {})},
        "spec": {
            "serviceAccountName": MODEL_SERVICE_ACCOUNT,
            # vLLM never calls the API server; S3 credentials come from Pod Identity's own token.
            "automountServiceAccountToken": False,
            "priorityClassName": MODEL_PRIORITY_CLASS,
            "nodeSelector": {POOL_LABEL: pool_name},
            "tolerations": [GPU_TOLERATION],
            "securityContext": POD_SECURITY,
            "terminationGracePeriodSeconds": 120,
            "containers": [container],
            "volumes": [
                {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": size.shm}},
                {"name": "cache", "emptyDir": {}},
                {"name": "tmp", "emptyDir": {}},
            ],
        },
    }


def leader_worker_set(served: ServedVersion, pool_name: str, region: str, image: Any) -> Manifest:
    """Groups of `nodes` pods; `replicas` (groups) is KEDA's to change."""
    nodes = served.model.nodes_per_replica()
    return {
        "apiVersion": LWS_API,
        "kind": "LeaderWorkerSet",
        "metadata": {
            "name": served.name,
            "namespace": MODELS_NAMESPACE,
            "labels": {MODEL_LABEL: served.model.name, VERSION_LABEL: served.version},
            # The same decisions as on a single-node replica's pods (kserve.CHECKOV_SKIPS).
            "annotations": dict(CHECKOV_SKIPS),
        },
        "spec": {
            "replicas": served.min_replicas,
            "startupPolicy": "LeaderCreated",
            # One group per replica, replaced as a unit: a rolling update never runs a group
            # with pods of two versions' flags, and never starts a group it has no nodes for.
            "rolloutStrategy": {"type": "RollingUpdate", "rollingUpdateConfiguration": {"maxUnavailable": 1, "maxSurge": 0}},
            "leaderWorkerTemplate": {
                "size": nodes,
                # A lost worker breaks the pipeline: restart the whole group.
                "restartPolicy": "RecreateGroupOnPodRestart",
                "leaderTemplate": _pod(served, pool_name, region, image, leader=True),
                "workerTemplate": _pod(served, pool_name, region, image, leader=False),
            },
        },
    }


def leader_service(served: ServedVersion) -> Manifest:
    """The version's requests go to its groups' leaders (KServe's predictor name, port 80)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": served.predictor, "namespace": MODELS_NAMESPACE, "labels": {MODEL_LABEL: served.model.name}},
        "spec": {
            "selector": {GROUP_LABEL: served.name, WORKER_INDEX_LABEL: "0"},
            "ports": [{"name": "http", "port": 80, "targetPort": HTTP_PORT, "protocol": "TCP"}],
        },
    }


def scale_groups(scaled_object: Manifest, served: ServedVersion) -> Manifest:
    """The version's ScaledObject, aimed at the LeaderWorkerSet: KEDA counts groups."""
    spec = {**scaled_object["spec"], "scaleTargetRef": {"apiVersion": LWS_API, "kind": "LeaderWorkerSet", "name": served.name}}
    return {**scaled_object, "spec": spec}


def group_disruption_budget(served: ServedVersion) -> Manifest:
    """Drains take one pod, and so one group, of a version at a time."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": served.name, "namespace": MODELS_NAMESPACE, "labels": {MODEL_LABEL: served.model.name}},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {GROUP_LABEL: served.name}}},
    }
