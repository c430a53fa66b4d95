"""Compare two offline builds of one stack (a base revision and the working tree): which
resources are added, removed, replaced or changed, which models, what it costs and what the
simulated SLO becomes. Pure: reads what the two previews wrote, decides nothing about safety
(guard.py does)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.preview.replacements import forcing

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass
class Build:
    """What one preview wrote to build/<stack>/, plus the stack file it read."""

    stack: str
    resources: list[dict[str, Any]] = field(default_factory=list)
    cost: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)
    models: list[dict[str, Any]] = field(default_factory=list)
    environment: str | None = None
    build_dir: Path | None = None

    @classmethod
    def empty(cls, stack: str) -> Build:
        return cls(stack=stack)

    @classmethod
    def load(cls, build_dir: Path, stack_file: Path, stack: str) -> Build:
        def read(name: str, default: Any) -> Any:
            path = build_dir / name
            return json.loads(path.read_text()) if path.exists() else default

        config = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
        models = config.get("ml-serving:models") or []
        return cls(
            stack=stack,
            resources=read("resources.json", []),
            cost=read("cost.json", {}),
            policy=read("policy.json", {}),
            models=[m for m in models if isinstance(m, dict)],
            environment=config.get("ml-serving:environment"),
            build_dir=build_dir,
        )


def engine_urns(resources: list[dict[str, Any]]) -> dict[str, str]:
    """Each resource's URN as `pulumi up` names it, from the mock URNs and parents a build
    records (builds of older revisions have no `engineUrn`)."""
    by_urn = {r["urn"]: r for r in resources}
    chains: dict[str, str] = {}

    def chain(urn: str) -> str:
        if urn not in chains:
            resource = by_urn[urn]
            parent = resource.get("parent") or ""
            own = resource["type"]
            chains[urn] = f"{chain(parent)}${own}" if parent in by_urn else own
        return chains[urn]

    found = {}
    for resource in resources:
        prefix = resource["urn"].split("::")[:2]
        found[resource["urn"]] = "::".join([*prefix, chain(resource["urn"]), resource["name"]])
    return found


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf values by dotted path (list items by index)."""
    if isinstance(value, dict):
        if not value and prefix:
            return {prefix: {}}
        out: dict[str, Any] = {}
        for key in value:
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        if not value and prefix:
            return {prefix: []}
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return out
    return {prefix: value}


def changed_paths(before: dict[str, Any], after: dict[str, Any], ignored: list[str] | tuple[str, ...] = ()) -> list[str]:
    old, new = flatten(before), flatten(after)
    paths = sorted(p for p in set(old) | set(new) if old.get(p, _MISSING) != new.get(p, _MISSING))
    return [p for p in paths if not any(p == i or p.startswith(i + ".") for i in ignored)]


_MISSING = object()


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _value_at(inputs: dict[str, Any], prop: str) -> Any:
    current: Any = inputs
    for part in prop.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        else:
            return None
    return current


@dataclass
class Pairing:
    base: dict[str, Any]
    head: dict[str, Any]
    base_urn: str
    head_urn: str
    how: str  # "same", "alias", "reparented", "renamed"


def _split(urn: str) -> tuple[str, str, str]:
    qualified, name = urn.split("::")[2], urn.split("::", 3)[3]
    chain, _, own = qualified.rpartition("$")
    return chain, own, name


def pair(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> tuple[list[Pairing], list[str], list[str]]:
    """Match base and head resources: same URN, an alias of the head naming the base URN, the
    same type and name under another parent, or the only resource of a type under one parent
    that changed its name. Returns the pairs, the head URNs added and the base URNs removed."""
    base_urns, head_urns = engine_urns(base), engine_urns(head)
    base_by = {base_urns[r["urn"]]: r for r in base}
    head_by = {head_urns[r["urn"]]: r for r in head}
    pairs: list[Pairing] = []
    left = dict(base_by)
    unmatched: dict[str, dict[str, Any]] = {}
    for urn, resource in head_by.items():
        if urn in left:
            pairs.append(Pairing(left.pop(urn), resource, urn, urn, "same"))
            continue
        alias = next((a for a in resource.get("aliasUrns") or [] if a in left), None)
        if alias is not None:
            pairs.append(Pairing(left.pop(alias), resource, alias, urn, "alias"))
            continue
        unmatched[urn] = resource
    # Without an alias the engine sees a delete and a create: pair them to say so.
    for urn in list(unmatched):
        chain, own, name = _split(urn)
        moved = [b for b in left if _split(b)[1:] == (own, name)]
        if len(moved) == 1:
            pairs.append(Pairing(left.pop(moved[0]), unmatched.pop(urn), moved[0], urn, "reparented"))
    groups: dict[tuple[str, str], list[str]] = {}
    for urn in unmatched:
        groups.setdefault(_split(urn)[:2], []).append(urn)
    for key, added in groups.items():
        removed = [b for b in left if _split(b)[:2] == key]
        if len(added) == 1 and len(removed) == 1:
            pairs.append(Pairing(left.pop(removed[0]), unmatched.pop(added[0]), removed[0], added[0], "renamed"))
    return pairs, sorted(unmatched), sorted(left)


def _why(p: Pairing, paths: list[str]) -> list[str]:
    reasons = []
    if p.how == "reparented":
        reasons.append(f"its parent changed ({_split(p.base_urn)[0] or 'the stack'} -> "
                       f"{_split(p.head_urn)[0] or 'the stack'}) without an alias")
    elif p.how == "renamed":
        reasons.append(f"renamed from {_split(p.base_urn)[2]} without an alias")
    for prop in forcing(p.head["type"], paths, p.base.get("inputs"), p.head.get("inputs")):
        before = _value_at(p.base.get("inputs") or {}, prop)
        after = _value_at(p.head.get("inputs") or {}, prop)
        reasons.append(f"{prop} changed ({_short(before)} -> {_short(after)}), which forces replacement")
    return reasons


def _cascade(pairs: list[Pairing], reasons: dict[str, list[str]], added: list[str], head: list[dict[str, Any]]) -> None:
    """A replaced (or new) resource has new outputs: an input built from them that forces
    replacement replaces the dependent too, as `pulumi preview` shows it. Updates `reasons`."""
    head_urns = engine_urns(head)
    names = {r["urn"]: r["name"] for r in head}
    fresh = {mock for mock, urn in head_urns.items() if urn in reasons or urn in added}
    changed = True
    while changed:
        changed = False
        for p in pairs:
            if p.head_urn in reasons:
                continue
            provider = (p.head.get("provider") or "").rsplit("::", 1)[0]
            if provider in fresh:
                reasons[p.head_urn] = [f"its provider {names.get(provider, provider)} is replaced"]
                fresh.add(p.head["urn"])
                changed = True
                continue
            for prop, sources in sorted((p.head.get("propertyDependencies") or {}).items()):
                hit = next((s for s in sources if s in fresh), None)
                if hit is not None and forcing(p.head["type"], [prop]) + _forcing_below(p.head["type"], prop):
                    reasons[p.head_urn] = [f"{prop} comes from {names.get(hit, hit)}, which is replaced or new"]
                    fresh.add(p.head["urn"])
                    changed = True
                    break


def _forcing_below(typ: str, prop: str) -> list[str]:
    """Replace-on-change paths inside a top-level input (`launchTemplate` holds `launchTemplate.id`)."""
    from components.preview.replacements import replace_on_change

    return [p for p in replace_on_change(typ) or () if p.startswith(prop + ".")]


def resource_changes(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> dict[str, Any]:
    pairs, added, removed = pair(base, head)
    reasons: dict[str, list[str]] = {}
    paths_of: dict[str, list[str]] = {}
    for p in pairs:
        ignored = p.head.get("ignoreChanges") or []
        paths_of[p.head_urn] = changed_paths(p.base.get("inputs") or {}, p.head.get("inputs") or {}, ignored)
        why = _why(p, paths_of[p.head_urn])
        if why:
            reasons[p.head_urn] = why
    _cascade(pairs, reasons, added, head)
    replaced, changed = [], []
    for p in pairs:
        paths = paths_of[p.head_urn]
        if p.head_urn in reasons:
            replaced.append({"urn": p.head_urn, "why": "; ".join(reasons[p.head_urn]), "_base": p.base, "_head": p.head})
        elif paths or p.how == "alias":
            if p.how == "alias":
                paths = [f"urn (aliased from {p.base_urn})", *paths]
            changed.append({"urn": p.head_urn, "paths": paths})
    return {
        "added": added,
        "removed": removed,
        "replaced": replaced,
        "changed": sorted(changed, key=lambda c: c["urn"]),
    }


def model_changes(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> dict[str, list]:
    before = {m.get("name"): m for m in base}
    after = {m.get("name"): m for m in head}
    changed = [
        {"name": name, "paths": changed_paths(before[name], after[name])}
        for name in sorted(set(before) & set(after), key=str)
        if before[name] != after[name]
    ]
    return {
        "added": sorted(set(after) - set(before), key=str),
        "removed": sorted(set(before) - set(after), key=str),
        "changed": changed,
    }


def _monthly(cost: dict[str, Any], load: str) -> float:
    return float((cost.get(load) or {}).get("monthly_usd") or 0.0)


def cost_delta(base: dict[str, Any], head: dict[str, Any]) -> dict[str, float]:
    return {
        "idle_delta_usd_month": round(_monthly(head, "idle") - _monthly(base, "idle"), 2),
        "busy_delta_usd_month": round(_monthly(head, "busy") - _monthly(base, "busy"), 2),
    }


def _slo_of(cost: dict[str, Any], model: str) -> dict[str, Any] | None:
    entry = (cost.get("models") or {}).get(model)
    if entry is None:
        return None
    simulated = entry.get("simulated") or {}
    return {"objective": simulated.get("slo"), "attainment": simulated.get("slo_attainment")}


def slo_changes(base: dict[str, Any], head: dict[str, Any]) -> dict[str, dict[str, Any]]:
    names = set((base.get("models") or {})) | set((head.get("models") or {}))
    return {name: {"before": _slo_of(base, name), "after": _slo_of(head, name)} for name in sorted(names)}


def _violation_key(violation: dict[str, Any]) -> tuple:
    # Not the URN (the mock engine's) nor the message (it quotes values): the same policy
    # failing on the same resource is the same finding.
    return tuple(violation.get(k) for k in ("policy", "enforcement", "type", "name"))


def new_violations(base: dict[str, Any], head: dict[str, Any]) -> list[dict[str, Any]]:
    seen = {_violation_key(v) for v in base.get("violations") or []}
    return [v for v in head.get("violations") or [] if _violation_key(v) not in seen]
