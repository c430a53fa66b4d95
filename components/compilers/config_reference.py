"""docs/configuration.md, rendered from the stack file's JSON Schema.

`python -m components.compilers.config_reference` rewrites the schema and the reference.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from components.intent.loading import MAX_TEXT, NAMESPACES
from components.intent.schema import stack_file_schema
from components.stack_yaml import MAX_DEPTH, MAX_EXPANDED_VALUES, MAX_FILE_BYTES, STACK_FILE_KEYS

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "stacks" / "stack.schema.json"
REFERENCE_PATH = ROOT / "docs" / "configuration.md"


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[{name}](#{name.lower()})"
    if "enum" in schema:
        return " or ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {_type(schema['additionalProperties'])}"
    if schema.get("format"):
        return f"{kind} ({schema['format']})"
    return str(kind)


def _bounds(schema: dict[str, Any]) -> str:
    words = []
    for key, label in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<"),
                       ("minLength", "min length"), ("maxLength", "max length"),
                       ("minItems", "min items"), ("maxItems", "max items")):
        if key in schema:
            words.append(f"{label} {schema[key]}")
    for option in schema.get("anyOf", []):
        bound = _bounds(option)
        if bound:
            words.append(bound)
    return ", ".join(words)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    lines = ["| key | type | default | constraints | description |", "|---|---|---|---|---|"]
    for name, prop in schema.get("properties", {}).items():
        default = "required" if name in required else (f"`{json.dumps(prop['default'])}`" if "default" in prop else "")
        lines.append(
            f"| `{name}` | {_cell(_type(prop))} | {_cell(default)} | {_cell(_bounds(prop))} | {_cell(prop.get('description', ''))} |"
        )
    return lines


def _reading_rules() -> list[str]:
    return [
        "## How a stack file is read",
        "",
        "The preview (`make synth`) and the program (`pulumi up`) read the file with the same rules,",
        "and report every problem at once, cross-field rules included, before anything is created:",
        "",
        f"- Top-level keys: {', '.join(f'`{k}`' for k in STACK_FILE_KEYS)} (what Pulumi writes).",
        f"- Config keys are `<namespace>:<name>`; namespaces: {', '.join(f'`{n}:`' for n in NAMESPACES)}",
        "  (ours, the providers the program creates resources with, and Pulumi's). Any other namespace is an",
        "  error, and one near `ml-serving` (`ml-servng:`, `ML-Serving:`) says which key was meant: it would",
        "  otherwise be ignored and the stack deployed without it.",
        "- A key written twice in one mapping, at any depth, is an error naming both lines (YAML would keep",
        "  only the last).",
        f"- At most {MAX_FILE_BYTES:,} bytes, {MAX_DEPTH} levels deep and {MAX_EXPANDED_VALUES:,} values once",
        f"  aliases are expanded; no value longer than {MAX_TEXT:,} characters. Messages quote values cut short.",
        "- A number where text is expected (`kubernetes_version: 1.35`, `version: 2`) says how to quote it.",
        "- Regions and EC2 / SageMaker instance types are checked against botocore's data, offline.",
        "- A staging or prod stack lists at least one model.",
        "- Quantized vLLM models run vLLM 0.31.0's marlin kernels (`awq_marlin`, `gptq_marlin`) in bfloat16 and",
        "  the plain `awq` / `gptq` kernels in float16 (they are fp16-only); bfloat16 and fp8 need a GPU of",
        "  compute capability 8.0 or newer.",
    ]


def render(schema: dict[str, Any]) -> str:
    config = schema["properties"]["config"]
    lines = [
        "# Stack configuration reference",
        "",
        "Generated from `components/intent` by `make docs`; do not edit by hand.",
        "Every key lives under `config:` in `stacks/Pulumi.<env>.yaml`. Unknown `ml-serving:` keys",
        "and unknown fields are errors, reported all at once with the file and the field path.",
        "Editors can validate stack files with `stacks/stack.schema.json`.",
        "",
        *_reading_rules(),
        "",
        "## Stack keys",
        "",
        *_table(config),
    ]
    for name, definition in sorted(schema["$defs"].items()):
        if definition.get("type") != "object" or "properties" not in definition:
            continue
        lines += ["", f"## {name}", ""]
        if definition.get("description"):
            lines += [definition["description"].strip(), ""]
        lines += _table(definition)
    return "\n".join(lines) + "\n"


def schema_text() -> str:
    return json.dumps(stack_file_schema(), indent=2, sort_keys=False) + "\n"


def main() -> int:
    SCHEMA_PATH.write_text(schema_text())
    REFERENCE_PATH.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE_PATH.write_text(render(stack_file_schema()))
    print(f"wrote {SCHEMA_PATH.relative_to(ROOT)} and {REFERENCE_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
