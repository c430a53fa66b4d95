"""Per-policy configuration: a JSON Schema with defaults, read back with the defaults filled in.

The Pulumi CLI fills schema defaults in before it configures the pack; the Python analyzer
passes no config at all to a policy nobody configured, so policies merge the defaults again.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyConfigSchema

Schema = dict[str, dict[str, Any]]


def config_schema(properties: Schema) -> PolicyConfigSchema:
    return PolicyConfigSchema(properties=properties)


def defaults(properties: Schema) -> dict[str, Any]:
    return {key: spec["default"] for key, spec in properties.items() if "default" in spec}


def settings(args: Any, properties: Schema) -> dict[str, Any]:
    """`args` is a ResourceValidationArgs or StackValidationArgs."""
    given: Mapping[str, Any] = args.get_config() or {}
    return {**defaults(properties), **given}
