"""Which changes of a diff could lose what a staging or prod stack holds, and so need an
acknowledgement outside the stack file (ALLOW_DESTRUCTIVE, or a pull-request label).

Guarded: removing a model; deleting or replacing a stateful resource (bucket, ECR repository,
cluster, KMS key, log group, VPC, SageMaker endpoint) or a node group models run on; lowering a pool's (or an
endpoint's) maximum below what its models need at their planned busy load.
"""
from __future__ import annotations

import hashlib
import math
from typing import Any

from components.preview.compare import Build, engine_urns

GUARDED_ENVIRONMENTS = ("staging", "prod")
# A pull-request label acknowledges one guarded change; GitHub label names have 50 characters.
LABEL_PREFIX = "allow-destructive:"
LABEL_MAX = 50
POOL_LABEL = "ml-serving/pool"
MODEL_LABEL = "ml-serving/model"
GPU_TEMPLATE_TAG = "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
INFERENCE_SERVICE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
SCALABLE_TARGET = "aws:appautoscaling/target:Target"

# What each stateful type holds that a replacement or deletion loses.
STATEFUL: dict[str, tuple[str, str]] = {
    "aws:s3/bucket:Bucket": ("bucket", "its objects (model weights, captured requests)"),
    "aws:ecr/repository:Repository": ("ecr-repository", "its images, which running pods and endpoints pull"),
    "aws:eks/cluster:Cluster": ("cluster", "every workload and object in it"),
    "aws:kms/key:Key": ("kms-key", "the means to decrypt everything encrypted with it"),
    "aws:cloudwatch/logGroup:LogGroup": ("log-group", "the logs it holds"),
    "aws:ec2/vpc:Vpc": ("vpc", "every subnet, node and load balancer in it (a cluster cannot move to another VPC)"),
    "aws:sagemaker/endpoint:Endpoint": ("endpoint", "the endpoint clients call, until the new one is in service"),
}


def applies(base: Build, head: Build) -> bool:
    # Either side: moving a prod stack file to `environment: dev` must not switch its guard off.
    return base.environment in GUARDED_ENVIRONMENTS or head.environment in GUARDED_ENVIRONMENTS


def pool_of(node_group: dict[str, Any]) -> str:
    """The pool a node group serves: its ml-serving/pool label, else its name."""
    return ((node_group.get("inputs") or {}).get("labels") or {}).get(POOL_LABEL) or node_group["name"]


def _pool_selectors(value: Any) -> set[str]:
    """Pools a manifest's pod templates select (nodeSelector ml-serving/pool), at any depth."""
    found: set[str] = set()
    if isinstance(value, dict):
        selector = value.get("nodeSelector")
        if isinstance(selector, dict) and isinstance(selector.get(POOL_LABEL), str):
            found.add(selector[POOL_LABEL])
        for item in value.values():
            found |= _pool_selectors(item)
    elif isinstance(value, list):
        for item in value:
            found |= _pool_selectors(item)
    return found


def models_by_pool(build: Build) -> dict[str, set[str]]:
    """pool -> models whose pods select it: InferenceServices, LeaderWorkerSet groups across
    nodes and warm-pool placeholders alike."""
    found: dict[str, set[str]] = {}
    for resource in build.resources:
        inputs = resource.get("inputs") or {}
        model = ((inputs.get("metadata") or {}).get("labels") or {}).get(MODEL_LABEL)
        if not model or not resource["type"].startswith("kubernetes:"):
            continue
        for pool in _pool_selectors(inputs.get("spec")):
            found.setdefault(pool, set()).add(model)
    return found


def _gpus_of_model(build: Build) -> dict[str, int]:
    gpus: dict[str, int] = {}
    for r in build.resources:
        if r["type"] != INFERENCE_SERVICE:
            continue
        inputs = r.get("inputs") or {}
        model = ((inputs.get("metadata") or {}).get("labels") or {}).get(MODEL_LABEL)
        containers = ((inputs.get("spec") or {}).get("predictor") or {}).get("model") or {}
        limit = ((containers.get("resources") or {}).get("limits") or {}).get("nvidia.com/gpu")
        if model and limit is not None:
            gpus[model] = max(gpus.get(model, 0), int(limit))
    return gpus


def _gpus_per_node(build: Build, group: dict[str, Any]) -> int | None:
    for r in build.resources:
        if r["type"] == "aws:autoscaling/tag:Tag" and r.get("parent") == group.get("parent"):
            tag = (r.get("inputs") or {}).get("tag") or {}
            if tag.get("key") == GPU_TEMPLATE_TAG:
                return int(tag["value"])
    return None


def _busy_replicas(build: Build, model: str) -> int | None:
    entry = (build.cost.get("models") or {}).get(model) or {}
    value = entry.get("busy_replicas")
    return int(value) if value is not None else None


def _node_groups(build: Build) -> dict[str, dict[str, Any]]:
    return {pool_of(r): r for r in build.resources if r["type"] == NODE_GROUP}


def _key(resource: dict[str, Any], stack: str) -> str:
    """A resource's name without the `ml-serving-<stack>-` every name of the stack starts with."""
    return resource["name"].removeprefix(f"ml-serving-{stack}-")


def _stateful(resource: dict[str, Any], base: Build, action: str) -> dict[str, str] | None:
    typ = resource["type"]
    if typ in STATEFUL:
        kind, holds = STATEFUL[typ]
        return {"what": f"{kind}:{_key(resource, base.stack)}", "why": f"{action} {resource['name']} loses {holds}"}
    if typ == NODE_GROUP:
        pool = pool_of(resource)
        models = sorted(models_by_pool(base).get(pool, ()))
        if models:
            return {
                "what": f"node-group:{pool}",
                "why": f"{action} node group {pool} drains the nodes models {', '.join(models)} run on",
            }
    return None


def _shrunk_pools(base: Build, head: Build) -> list[dict[str, str]]:
    found = []
    before, after = _node_groups(base), _node_groups(head)
    gpus = _gpus_of_model(head)
    for pool in sorted(set(before) & set(after)):
        old = ((before[pool].get("inputs") or {}).get("scalingConfig") or {}).get("maxSize")
        new = ((after[pool].get("inputs") or {}).get("scalingConfig") or {}).get("maxSize")
        per_node = _gpus_per_node(head, after[pool])
        if old is None or new is None or new >= old or not per_node:
            continue
        needs = []
        for model in sorted(models_by_pool(head).get(pool, ())):
            replicas = _busy_replicas(head, model)
            if replicas is not None and model in gpus:
                needs.append((model, replicas, gpus[model]))
        nodes = math.ceil(sum(r * g for _, r, g in needs) / per_node)
        if new < nodes:
            detail = ", ".join(f"{m} {r} x {g} GPU" for m, r, g in needs)
            found.append({
                "what": f"node-group:{pool}",
                "why": f"max_size of pool {pool} shrinks from {old} to {new} nodes, below the {nodes} its models "
                       f"need at their planned busy load ({detail}; {per_node} GPU(s) per node)",
            })
    return found


def _endpoint_model(build: Build, target: dict[str, Any]) -> str | None:
    parent = next((r for r in build.resources if r["urn"] == target.get("parent")), None)
    if parent is None or "-endpoint-" not in parent["name"]:
        return None
    return parent["name"].rpartition("-endpoint-")[2]


def _shrunk_endpoints(base: Build, head: Build) -> list[dict[str, str]]:
    found = []
    base_urns, head_urns = engine_urns(base.resources), engine_urns(head.resources)
    before = {base_urns[r["urn"]]: r for r in base.resources if r["type"] == SCALABLE_TARGET}
    for r in head.resources:
        urn = head_urns[r["urn"]]
        if r["type"] != SCALABLE_TARGET or urn not in before:
            continue
        old = (before[urn].get("inputs") or {}).get("maxCapacity")
        new = (r.get("inputs") or {}).get("maxCapacity")
        model = _endpoint_model(head, r)
        need = _busy_replicas(head, model) if model else None
        if old is not None and new is not None and new < old and need is not None and new < need:
            found.append({
                "what": f"endpoint:{model}",
                "why": f"the endpoint of {model} may scale to {new} instances (was {old}), below the {need} "
                       "it needs at its planned busy load",
            })
    return found


def guarded(base: Build, head: Build, resources: dict[str, Any], models: dict[str, list]) -> list[dict[str, str]]:
    """Every guarded change of a diff, each once, as {"what", "why"}."""
    if not applies(base, head):
        return []
    found: list[dict[str, str]] = []
    for name in models["removed"]:
        found.append({"what": f"model:{name}", "why": f"model {name} is removed: its endpoint stops serving"})
    base_by_urn = engine_urns(base.resources)
    removed = set(resources["removed"])
    for resource in base.resources:
        if base_by_urn[resource["urn"]] in removed:
            entry = _stateful(resource, base, "deleting")
            if entry:
                found.append(entry)
    for entry in resources["replaced"]:
        # Named after what is lost: the base's resource (a rename gives the new one another name).
        hit = _stateful(entry["_base"], base, "replacing")
        if hit:
            hit["why"] += f" ({entry['why']})"
            found.append(hit)
    found += _shrunk_pools(base, head)
    found += _shrunk_endpoints(base, head)
    unique: dict[str, dict[str, str]] = {}
    for entry in found:
        if entry["what"] in unique:
            unique[entry["what"]]["why"] += "; " + entry["why"]
        else:
            unique[entry["what"]] = entry
    return list(unique.values())


def ack_token(what: str) -> str:
    """What acknowledges `what`: itself, or a digest of it when the label would be too long."""
    if len(LABEL_PREFIX + what) <= LABEL_MAX:
        return what
    return hashlib.sha256(what.encode()).hexdigest()[:12]


def label_for(what: str) -> str:
    return LABEL_PREFIX + ack_token(what)


def is_acknowledged(what: str, allowed: set[str]) -> bool:
    return what in allowed or ack_token(what) in allowed


def unacknowledged(entries: list[dict[str, str]], allowed: set[str]) -> list[dict[str, str]]:
    return [e for e in entries if not is_acknowledged(e["what"], allowed)]


def parse_allowed(text: str | None) -> set[str]:
    """`ALLOW_DESTRUCTIVE=model:llama-8b,node-group:l40s` (spaces around commas tolerated)."""
    return {part.strip() for part in (text or "").split(",") if part.strip()}
