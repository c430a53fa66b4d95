"""Add-on charts at the versions the platform pins (components/intent/versions.py)."""
from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .review import facts_of
from .settings import config_schema, settings
from .values import get, items, mapping

SCHEMA = {
    "allowedOverrides": {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "properties": {"version": {"type": "string", "minLength": 1}, "reason": {"type": "string", "minLength": 10}},
            "required": ["version", "reason"],
            "additionalProperties": False,
        },
        "default": {},
        "description": (
            "Add-on (cluster.addon_versions key with dashes, e.g. kserve) -> {version, reason}: an override of the "
            "pin this environment accepts, and why."
        ),
    },
}


def _check_addons(args: ResourceValidationArgs, report: ReportViolation) -> None:
    facts = facts_of(args.resource_type, args.props)
    if facts is None:
        return
    allowed = mapping(settings(args, SCHEMA)["allowedOverrides"])
    for row in items(get(facts, "addons")):
        addon, pinned, requested = get(row, "addon"), get(row, "pinned"), get(row, "requested")
        if requested == pinned:
            continue
        entry = mapping(allowed.get(addon))
        if get(entry, "version") == requested:
            continue
        report(f"add-on {addon} ({get(row, 'chart')}) is set to {requested}, not the pinned {pinned}: a version "
               "nobody tested with the rest of the platform (a downgrade can drop CRD fields we render). Remove "
               f"cluster.addon_versions.{str(addon).replace('-', '_')} from the stack file, or add "
               f'"{addon}": {{"version": "{requested}", "reason": "..."}} to allowedOverrides in '
               "policies/config.<env>.json.")


ADDON_VERSIONS_PINNED = ResourceValidationPolicy(
    name="addon-versions-pinned",
    display_name="Add-on charts at the pinned versions",
    description=(
        "Ranges and wildcards are rejected by validation (an impossible pin: Helm resolves them at install "
        "time). An exact version other than the pin in components/intent/versions.py is a judgement (policy): "
        "allowed only where the environment's allowedOverrides lists that version with a reason."
    ),
    validate=_check_addons,
    config_schema=config_schema(SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["supply-chain", "eks", "reliability"],
    remediation_steps=(
        "Drop the override from cluster.addon_versions, or bump the pin in components/intent/versions.py for "
        "everyone (with the source it was read from)."
    ),
)

POLICIES = [ADDON_VERSIONS_PINNED]
