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
from components.preview.guard import MODEL_LABEL, NODE_GROUP, models_by_pool, pool_of

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LEADER_WORKER_SET = "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet"
# Launch template fields that are the template's own, not a version's: changing them starts no
# new version, so no node moves.
TEMPLATE_ONLY = ("tags", "tagsAll", "description", "updateDefaultVersion", "defaultVersion", "name", "namePrefix")
# Node group fields EKS applies as a rolling update of its nodes.
GROUP_ROLLING = ("releaseVersion", "version", "launchTemplate")


def _under(path: str, fields: tuple[str, ...]) -> bool:
    return any(path == f or path.startswith(f + ".") for f in fields)


def _grouped_models(build: Build) -> set[str]:
    """Models served as LeaderWorkerSet groups across nodes: draining any one node of a group
    restarts the whole group (RecreateGroupOnPodRestart), so a roll takes each group down once
    per node it spans."""
    return {
        ((r.get("inputs") or {}).get("metadata") or {}).get("labels", {}).get(MODEL_LABEL)
        for r in build.resources
        if r["type"] == LEADER_WORKER_SET
    } - {None}


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
        pool = pool_of(group)
        shown = ", ".join(paths[:4]) + (" ..." if len(paths) > 4 else "")
        reasons.setdefault(pool, []).append(f"{what} {shown} changes")
    on_pools = models_by_pool(head)
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
