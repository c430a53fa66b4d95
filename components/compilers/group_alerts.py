"""Alerts on the groups of a replica across nodes (a LeaderWorkerSet): they have no Deployment,
so readiness comes from kube-state-metrics' pod series joined to the pods' LWS labels.

kube-state-metrics exports pod labels only when allow-listed (`--metric-labels-allowlist`,
kube-prometheus-stack's `kube-state-metrics.metricLabelsAllowlist`, set in helm_values), as
`kube_pod_labels{label_<name with non-alphanumerics as _>=...}`; `kube_pod_status_ready` has one
series per pod and condition (true, false, unknown), 1 for the pod's current one.
"""
from __future__ import annotations

from components.compilers.leader_worker_set import GROUP_LABEL, WORKER_INDEX_LABEL
from components.compilers.rollout import ServedVersion
from components.compilers.serving import MODELS_NAMESPACE

GROUP_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/group-index"
# What kube-state-metrics must be allowed to export of a pod's labels.
LWS_POD_LABELS = (GROUP_LABEL, GROUP_INDEX_LABEL, WORKER_INDEX_LABEL)


def label_of(pod_label: str) -> str:
    """kube_pod_labels' name for a pod label (kube-state-metrics sanitizes it)."""
    return "label_" + "".join(c if c.isalnum() else "_" for c in pod_label)


def _pods(served: ServedVersion, leaders_only: bool = False) -> str:
    matchers = [f'namespace="{MODELS_NAMESPACE}"', f'{label_of(GROUP_LABEL)}="{served.name}"']
    if leaders_only:
        matchers.append(f'{label_of(WORKER_INDEX_LABEL)}="0"')
    return "kube_pod_labels{" + ",".join(matchers) + "}"


def _ready(group_left: str = "") -> str:
    return (
        f'kube_pod_status_ready{{namespace="{MODELS_NAMESPACE}",condition="true"}} '
        f"* on (namespace, pod) group_left ({group_left})"
    )


def ready_groups(served: ServedVersion) -> str:
    """Groups whose leader is ready: vLLM's leader answers its readiness probe only once every
    pipeline stage has joined, so a ready leader is a serving group."""
    return f"sum({_ready()} {_pods(served, leaders_only=True)})"


def groups_down(served: ServedVersion) -> str:
    """Leader pods exist, none is ready."""
    return f"(count({_pods(served, leaders_only=True)}) > 0) and on() ({ready_groups(served)} == 0)"


def groups_not_ready(served: ServedVersion) -> str:
    """How many groups have fewer ready pods than their size (a pod not ready, or missing)."""
    size = served.model.nodes_per_replica()
    group = label_of(GROUP_INDEX_LABEL)
    ready_per_group = f"sum by ({group}) ({_ready(group)} {_pods(served)})"
    return f"count({ready_per_group} < {size}) > 0"
