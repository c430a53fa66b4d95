"""Read a `Pulumi.<stack>.yaml` into the string-valued config map the Pulumi engine would pass."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from components.intent.loading import SpecError

SECRET_PLACEHOLDER = "[secret: decrypted by the Pulumi CLI at deploy time]"


def stack_name(path: Path) -> str:
    """`stacks/Pulumi.dev.yaml` is stack `dev`; any other file is named after its stem."""
    parts = path.name.split(".")
    if len(parts) >= 3 and parts[0] == "Pulumi" and parts[-1] in ("yaml", "yml"):
        return ".".join(parts[1:-1])
    return path.stem


def read_stack_file(path: Path, shown_as: str) -> dict[str, str]:
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise SpecError(shown_as, [f"cannot read the stack file: {error.strerror}"]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise SpecError(shown_as, [f"not valid YAML{where}: {problem}"]) from None
    if document is None:
        document = {}
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise SpecError(shown_as, ["a stack file is a mapping with a `config:` mapping inside"])
    return {str(key): _encode(value) for key, value in (document.get("config") or {}).items()}


def _encode(value: Any) -> str:
    # The engine hands every config value to the program as text: strings as they are,
    # everything else as JSON (which is what require_object parses back).
    if isinstance(value, dict) and set(value) == {"secure"}:
        return SECRET_PLACEHOLDER
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)
