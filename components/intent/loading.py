"""Validate a stack's configuration once, and say everything that is wrong with it at once."""
from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from components.intent.stack import StackSpec

PROJECT = "ml-serving"
# The region lives in the AWS provider's own key so the provider and the spec cannot disagree.
REGION_KEY = "aws:region"


class SpecError(Exception):
    """A stack file that cannot be deployed. The message names the file and every problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        lines = [f"{source}: {count} in the stack configuration:"]
        lines += [f"  - {p}" for p in problems]
        lines.append("Nothing was created, changed or deleted.")
        super().__init__("\n".join(lines))


def decode(raw: Any) -> Any:
    """Pulumi hands structured config to programs as JSON text; plain strings stay strings."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_stack_config(config: Mapping[str, Any], source: str) -> StackSpec:
    """Turn a stack's config map (`{"ml-serving:models": ..., "aws:region": ...}`) into a StackSpec.

    Keys of other namespaces (aws:, kubernetes:, ...) belong to providers and are left alone,
    except `aws:region`. Unknown `ml-serving:` keys are errors, never silently ignored.
    """
    fields = StackSpec.model_fields
    data: dict[str, Any] = {}
    problems: list[str] = []
    prefix = f"{PROJECT}:"
    for key, raw in config.items():
        if key == REGION_KEY:
            data["region"] = decode(raw)
        elif key.startswith(prefix):
            name = key[len(prefix):]
            if name in fields and name != "region":
                data[name] = decode(raw)
            else:
                allowed = sorted(f"{prefix}{f}" for f in fields if f != "region")
                problems.append(_unknown(key, allowed))
    try:
        spec = StackSpec.model_validate(data)
    except ValidationError as error:
        problems += [_describe(e, data) for e in error.errors(include_url=False)]
        spec = None
    if problems or spec is None:
        raise SpecError(source, problems)
    return spec


def _unknown(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{key}: unknown key{hint}; allowed: {', '.join(allowed)}"


def _path(loc: tuple[Any, ...]) -> str:
    if not loc:
        return "(stack)"
    head, *rest = loc
    text = REGION_KEY if head == "region" else f"{PROJECT}:{head}"
    for part in rest:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _describe(error: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"{_path(loc)}: unknown field{hint}; allowed: {', '.join(allowed)}"
    if kind == "missing":
        if loc == ("region",):
            return f"{REGION_KEY}: required; set it with `pulumi config set aws:region us-east-1`"
        return f"{_path(loc)}: required field is missing"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    value = error.get("input")
    shown = ""
    if kind != "ml_serving_rule" and isinstance(value, (str, int, float, bool)) and value is not None:
        text = repr(value)
        shown = f" (got {text[:60]}{'...' if len(text) > 60 else ''})"
    return f"{_path(loc)}: {message}{shown}"


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """Field names allowed at a location, found by walking the models along the path."""
    model: type[BaseModel] | None = StackSpec
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        model = _model_in(field.annotation) if field else None
    return sorted(model.model_fields) if model else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None
