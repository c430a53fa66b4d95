"""JSON Schema of a stack file (`stacks/Pulumi.<env>.yaml`), derived from StackSpec.

Editors validate stack files against it (yaml-language-server); docs/configuration.md is
generated from it. Both are committed and a test fails when they are stale.
"""
from __future__ import annotations

import re
from typing import Any

from components.intent.loading import NAMESPACES, PROJECT, REGION_KEY
from components.intent.stack import StackSpec
from components.stack_yaml import STACK_FILE_KEYS


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
        "additionalProperties": False,
        "properties": {
            **{key: {} for key in STACK_FILE_KEYS if key != "config"},
            "config": {
                "type": "object",
                "description": spec.get("description", ""),
                "properties": properties,
                "required": required,
                # Keys of the providers the program uses (aws:, kubernetes:, ...) and Pulumi's own.
                "patternProperties": {
                    f"^({'|'.join(re.escape(n) for n in NAMESPACES if n != PROJECT)}):.+$": {}
                },
                "additionalProperties": False,
            }
        },
        "$defs": defs,
    }
