"""Read a `Pulumi.<stack>.yaml` into the string-valued config map the Pulumi engine would pass."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from components.intent.loading import SpecError
from components.stack_yaml import StackFileProblems, read_stack_yaml, stack_file_problems

SECRET_PLACEHOLDER = "[secret: decrypted by the Pulumi CLI at deploy time]"


def stack_name(path: Path) -> str:
    """`stacks/Pulumi.dev.yaml` is stack `dev`; any other file is named after its stem."""
    parts = path.name.split(".")
    if len(parts) >= 3 and parts[0] == "Pulumi" and parts[-1] in ("yaml", "yml"):
        return ".".join(parts[1:-1])
    return path.stem


def read_stack_file(path: Path, shown_as: str) -> dict[str, str]:
    try:
        document = read_stack_yaml(path)
    except StackFileProblems as error:
        raise SpecError(shown_as, error.problems) from None
    problems = stack_file_problems(document)
    if problems:
        raise SpecError(shown_as, problems)
    return {str(key): _encode(value) for key, value in (document.get("config") or {}).items()}


def _encode(value: Any) -> str:
    # The engine hands every config value to the program as text: strings as they are,
    # everything else as JSON (which is what require_object parses back).
    if isinstance(value, dict) and set(value) == {"secure"}:
        return SECRET_PLACEHOLDER
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)
