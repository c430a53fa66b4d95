"""The Deployment KServe's Standard mode creates for an InferenceService, for scanners only.

Security scanners (checkov) know Deployments, not InferenceServices, so model pods would go
unscanned. This renders what the KServe v0.20 controller builds: a Deployment named
`<isvc>-predictor` whose pod spec is the predictor's pod fields, with the ServingRuntime's
container merged under the predictor's model container (the model's fields win, lists of
env/volumeMounts/args are the model's when it sets them). It is never deployed: KServe owns
the real one. `checkov.io/skip*` annotations on the InferenceService carry over, so a
skipped finding is recorded, with its reason, on the manifest we deploy.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

Manifest = dict[str, Any]
SKIP_PREFIX = "checkov.io/skip"
POD_FIELDS = (
    "serviceAccountName", "automountServiceAccountToken", "securityContext", "tolerations", "nodeSelector", "affinity",
    "volumes", "priorityClassName", "terminationGracePeriodSeconds", "topologySpreadConstraints", "imagePullSecrets",
    "hostNetwork", "hostPID", "hostIPC", "schedulerName", "runtimeClassName", "dnsPolicy",
)


def _runtime_container(isvc: Manifest, runtimes: dict[str, Manifest]) -> Manifest:
    model = isvc["spec"]["predictor"].get("model", {})
    runtime = runtimes.get(model.get("runtime", ""))
    if runtime is None:
        fmt = model.get("modelFormat", {}).get("name")
        runtime = next((r for r in runtimes.values() if any(
            f.get("name") == fmt and f.get("autoSelect") for f in r["spec"].get("supportedModelFormats", []))), None)
    containers = (runtime or {}).get("spec", {}).get("containers", [])
    return copy.deepcopy(containers[0]) if containers else {}


def predictor_deployment(isvc: Manifest, runtimes: dict[str, Manifest]) -> Manifest:
    predictor = isvc["spec"]["predictor"]
    name = f"{isvc['metadata']['name']}-predictor"
    container = _runtime_container(isvc, runtimes)
    model = {k: v for k, v in predictor.get("model", {}).items() if k not in ("modelFormat", "runtime", "storageUri")}
    container.update(copy.deepcopy(model))
    container["name"] = "kserve-container"
    labels = {**predictor.get("labels", {}), "serving.kserve.io/inferenceservice": isvc["metadata"]["name"],
              "app": f"isvc.{name}"}
    pod_spec = {k: copy.deepcopy(predictor[k]) for k in POD_FIELDS if k in predictor}
    pod_spec["containers"] = [container]
    annotations = {k: v for k, v in isvc["metadata"].get("annotations", {}).items() if k.startswith(SKIP_PREFIX)}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": isvc["metadata"].get("namespace", "default"), "labels": labels,
                     **({"annotations": annotations} if annotations else {})},
        "spec": {
            "replicas": predictor.get("minReplicas", 1),
            "selector": {"matchLabels": {"app": f"isvc.{name}"}},
            "strategy": copy.deepcopy(predictor.get("deploymentStrategy", {"type": "RollingUpdate"})),
            "template": {"metadata": {"labels": labels, **({"annotations": annotations} if annotations else {})},
                         "spec": pod_spec},
        },
    }


def predictor_deployments(manifests: Iterable[Manifest]) -> list[Manifest]:
    """A Deployment for every InferenceService among `manifests` (runtimes found among them too)."""
    manifests = list(manifests)
    runtimes = {m["metadata"]["name"]: m for m in manifests if m.get("kind") in ("ClusterServingRuntime", "ServingRuntime")}
    return [predictor_deployment(m, runtimes) for m in manifests if m.get("kind") == "InferenceService"]


# What the LeaderWorkerSet controller puts on every pod of a group (and our NetworkPolicies select).
LWS_GROUP_LABEL = "leaderworkerset.sigs.k8s.io/name"


def group_deployments(manifests: Iterable[Manifest]) -> list[Manifest]:
    """A Deployment for each LeaderWorkerSet's leader and worker template, so the pods of a
    replica across nodes are scanned as well: scanners do not know the LeaderWorkerSet kind."""
    rendered = []
    for lws in (m for m in manifests if m.get("kind") == "LeaderWorkerSet"):
        name = lws["metadata"]["name"]
        group = lws["spec"]["leaderWorkerTemplate"]
        for role, template in (("leader", group["leaderTemplate"]), ("worker", group.get("workerTemplate"))):
            if template is None:
                continue
            labels = {**template.get("metadata", {}).get("labels", {}), LWS_GROUP_LABEL: name, "role": role}
            annotations = {k: v for k, v in {**lws["metadata"].get("annotations", {}),
                                             **template.get("metadata", {}).get("annotations", {})}.items()
                           if k.startswith(SKIP_PREFIX)}
            rendered.append({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": f"{name}-{role}", "namespace": lws["metadata"].get("namespace", "default"),
                             "labels": labels, **({"annotations": annotations} if annotations else {})},
                "spec": {
                    "replicas": lws["spec"].get("replicas", 1),
                    "selector": {"matchLabels": {LWS_GROUP_LABEL: name, "role": role}},
                    "template": {**copy.deepcopy(template),
                                 "metadata": {"labels": labels, **({"annotations": annotations} if annotations else {})}},
                },
            })
    return rendered
