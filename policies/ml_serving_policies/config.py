"""Enforcement per environment: `policies/config.<env>.json`, read the way the Pulumi CLI reads it.

The same file is passed to `pulumi preview --policy-pack-config` (pulumi/actions
`policyPackConfigs`) and to the offline preview, so both enforce the same levels. The
reconciliation mirrors the CLI (pulumi/pulumi pkg/resource/analyzer/config.go): start from
each policy's own level and its schema defaults, let `all` set every level, then let
per-policy entries set their level and properties. Unlike the CLI, unknown policy names and
unknown properties are errors here, so a typo cannot silently switch a policy back to its
default.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel, Policy

ENVIRONMENTS = ("dev", "staging", "prod")
CONFIG_DIR = Path(__file__).resolve().parents[1]
LEVELS = {level.value: level for level in EnforcementLevel}


class PolicyConfigError(ValueError):
    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


@dataclass(frozen=True)
class PolicySetting:
    enforcement: EnforcementLevel
    properties: dict[str, Any] = field(default_factory=dict)


def config_file(environment: str) -> Path:
    return CONFIG_DIR / f"config.{environment}.json"


def load(environment: str) -> tuple[Path, dict[str, Any]]:
    path = config_file(environment)
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise PolicyConfigError(str(path), [f"cannot read the policy config: {error.strerror}"]) from None
    except ValueError as error:
        raise PolicyConfigError(str(path), [f"not valid JSON: {error}"]) from None
    if not isinstance(document, dict):
        raise PolicyConfigError(str(path), ["a policy config is a JSON object keyed by policy name (or `all`)"])
    return path, document


def _entries(document: Mapping[str, Any], source: str) -> dict[str, tuple[EnforcementLevel | None, dict[str, Any]]]:
    entries: dict[str, tuple[EnforcementLevel | None, dict[str, Any]]] = {}
    problems = []
    for key, value in document.items():
        level_text: Any = None
        properties: dict[str, Any] = {}
        if isinstance(value, str):
            level_text = value
        elif isinstance(value, dict):
            properties = {k: v for k, v in value.items() if k != "enforcementLevel"}
            level_text = value.get("enforcementLevel")
        else:
            problems.append(f"{key}: expected an enforcement level or an object, got {json.dumps(value)}")
            continue
        if level_text is not None and level_text not in LEVELS:
            problems.append(f"{key}: {json.dumps(level_text)} is not one of {', '.join(LEVELS)}")
            continue
        entries[key] = (LEVELS[level_text] if level_text is not None else None, properties)
    if problems:
        raise PolicyConfigError(source, problems)
    return entries


def _schema_properties(policy: Policy) -> dict[str, Any]:
    return dict(policy.config_schema.properties) if policy.config_schema is not None else {}


def reconcile(
    policies: Sequence[Policy], pack_level: EnforcementLevel, document: Mapping[str, Any], source: str
) -> dict[str, PolicySetting]:
    """Each policy's enforcement level and properties under `document` (a parsed config file)."""
    entries = _entries(document, source)
    by_name = {policy.name: policy for policy in policies}
    problems = [f"{name}: no such policy in the pack" for name in entries if name != "all" and name not in by_name]
    settings: dict[str, PolicySetting] = {}
    all_level = entries.get("all", (None, {}))[0]
    for policy in policies:
        schema = _schema_properties(policy)
        level = policy.enforcement_level or pack_level
        properties = {key: spec["default"] for key, spec in schema.items() if "default" in spec}
        if all_level is not None:
            level = all_level
        given_level, given = entries.get(policy.name, (None, {}))
        if given_level is not None:
            level = given_level
        properties.update(given)
        problems += [f"{policy.name}: {p}" for p in _validate(schema, properties)]
        settings[policy.name] = PolicySetting(level, properties)
    if problems:
        raise PolicyConfigError(source, problems)
    return settings


def _validate(schema: dict[str, Any], properties: dict[str, Any]) -> list[str]:
    # jsonschema is a development dependency: the pack itself never validates its config (the CLI does).
    import jsonschema

    document_schema = {"type": "object", "properties": schema, "additionalProperties": False}
    validator = jsonschema.Draft7Validator(document_schema)
    return [
        f"{'.'.join(str(p) for p in error.path) or 'properties'}: {error.message}"
        for error in validator.iter_errors(properties)
    ]


def for_environment(policies: Sequence[Policy], pack_level: EnforcementLevel, environment: str) -> tuple[Path, dict[str, PolicySetting]]:
    path, document = load(environment)
    return path, reconcile(policies, pack_level, document, str(path))
