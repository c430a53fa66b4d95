"""Which GPU pools a diff rolls: an in-place change that EKS applies by replacing every node.

A managed node group follows its launch template's latest version, so any change to what a
version holds (user data, and so every cold-start lever; AMI, volumes, metadata options,
network interfaces) makes EKS start nodes on the new version and drain the old ones, one at a
time (our groups' max_unavailable 1). Nothing is deleted, so it is not guarded, but every
replica on the pool restarts on a fresh node and pays the full cold start: a reviewer should
see it, with the models it restarts, before it happens. A replaced node group is the guard's
(components/preview/guard.py), not listed again here.
"""
from __future__ import annotations

from typing import Any

from components.preview.compare import Build, engine_urns

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
POOL_LABEL = "ml-serving/pool"
MODEL_LABEL = "ml-serving/model"
# Launch template fields that are the template's own, not a version's: changing them starts no
# new version, so no node moves.
TEMPLATE_ONLY = ("tags", "tagsAll", "description", "updateDefaultVersion", "defaultVersion", "name", "namePrefix")
# Node group fields EKS applies as a rolling update of its nodes.
GROUP_ROLLING = ("releaseVersion", "version", "launchTemplate")


def _under(path: str, fields: tuple[str, ...]) -> bool:
    return any(path == f or path.startswith(f + ".") for f in fields)


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


LEADER_WORKER_SET = "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet"


def _grouped_models(build: Build) -> set[str]:
    """Models served as LeaderWorkerSet groups across nodes: draining any one node of a group
    restarts the whole group (RecreateGroupOnPodRestart), so a roll takes each group down once
    per node it spans."""
    return {
        ((r.get("inputs") or {}).get("metadata") or {}).get("labels", {}).get(MODEL_LABEL)
        for r in build.resources
        if r["type"] == LEADER_WORKER_SET
    } - {None}


def models_on_pools(build: Build) -> dict[str, set[str]]:
    """pool -> models whose pods select it: InferenceServices, LeaderWorkerSet groups, warm-pool
    placeholders alike."""
    found: dict[str, set[str]] = {}
    for resource in build.resources:
        inputs = resource.get("inputs") or {}
        model = ((inputs.get("metadata") or {}).get("labels") or {}).get(MODEL_LABEL)
        if not model or not resource["type"].startswith("kubernetes:"):
            continue
        for pool in _pool_selectors(inputs.get("spec")):
            found.setdefault(pool, set()).add(model)
    return found


def node_rolls(resources: dict[str, Any], head: Build) -> list[dict[str, Any]]:
    """Every pool whose nodes the diff replaces in place, once: {"pool", "models", "why"}."""
    # A diff names resources by engine URN (their type chain), a build by recorded URN.
    engine = engine_urns(head.resources)
    by_urn = {engine[r["urn"]]: r for r in head.resources}
    groups = {r.get("parent"): r for r in head.resources if r["type"] == NODE_GROUP}
    replaced = {r["urn"] for r in resources["replaced"]}
    reasons: dict[str, list[str]] = {}
    for change in resources["changed"]:
        resource = by_urn.get(change["urn"])
        if resource is None:
            continue
        if resource["type"] == LAUNCH_TEMPLATE:
            paths = [p for p in change["paths"] if not _under(p, TEMPLATE_ONLY)]
            group = groups.get(resource.get("parent"))
            what = "its launch template's"
        elif resource["type"] == NODE_GROUP:
            paths = [p for p in change["paths"] if _under(p, GROUP_ROLLING)]
            group = resource
            what = "its node group's"
        else:
            continue
        if not paths or group is None or engine[group["urn"]] in replaced:
            continue
        pool = ((group.get("inputs") or {}).get("labels") or {}).get(POOL_LABEL) or group["name"]
        shown = ", ".join(paths[:4]) + (" ..." if len(paths) > 4 else "")
        reasons.setdefault(pool, []).append(f"{what} {shown} changes")
    on_pools = models_on_pools(head)
    grouped = _grouped_models(head)
    rolls = []
    for pool, why in sorted(reasons.items()):
        models = sorted(on_pools.get(pool, ()))
        spread = [m for m in models if m in grouped]
        if spread:
            why = [*why, f"{', '.join(spread)} spans nodes as LeaderWorkerSet groups, and each group restarts "
                         "whole when any of its nodes is drained"]
        rolls.append({"pool": pool, "models": models, "why": "; ".join(why)})
    return rolls
