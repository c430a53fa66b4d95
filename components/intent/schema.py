"""JSON Schema of a stack file (`stacks/Pulumi.<env>.yaml`), derived from StackSpec.

Editors validate stack files against it (yaml-language-server); docs/configuration.md is
generated from it. Both are committed and a test fails when they are stale.
"""
from __future__ import annotations

from typing import Any

from components.intent.loading import PROJECT, REGION_KEY
from components.intent.stack import StackSpec


def config_key(field: str) -> str:
    return REGION_KEY if field == "region" else f"{PROJECT}:{field}"


def stack_file_schema() -> dict[str, Any]:
    spec = StackSpec.model_json_schema(mode="validation")
    defs = spec.pop("$defs", {})
    properties = {config_key(name): schema for name, schema in spec["properties"].items()}
    required = [config_key(name) for name in spec.get("required", [])]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://ml-serving.dev/schemas/stack-file.json",
        "title": "ml-serving stack file",
        "description": "A Pulumi stack file of the ml-serving project. Generated from components/intent; do not edit.",
        "type": "object",
        "required": ["config"],
        "properties": {
            "config": {
                "type": "object",
                "description": spec.get("description", ""),
                "properties": properties,
                "required": required,
                # Keys of other namespaces (aws:, kubernetes:, ...) configure providers.
                "patternProperties": {f"^(?!{PROJECT}:)[A-Za-z0-9_.-]+:.+$": {}},
                "additionalProperties": False,
            }
        },
        "$defs": defs,
    }
