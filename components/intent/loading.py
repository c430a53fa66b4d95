"""Validate a stack's configuration once, and say everything that is wrong with it at once."""
from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from components.intent.base import SHOWN, shown
from components.intent.partial import partial_problems
from components.intent.stack import StackSpec

PROJECT = "ml-serving"
# The region lives in the AWS provider's own key so the provider and the spec cannot disagree.
REGION_KEY = "aws:region"
# Namespaces a key outside `ml-serving:` may have: the packages whose providers the program
# creates resources with (tests/intent/test_namespaces.py checks this against a preview of
# every stack) and `pulumi:` (the engine's own, e.g. pulumi:tags). Any other namespace is a
# typo or a key nothing reads.
PROVIDER_NAMESPACES = ("aws", "docker-build", "kubernetes", "random")
NAMESPACES = (PROJECT, *PROVIDER_NAMESPACES, "pulumi")
# No value of a real stack file comes near this (ARNs, sources and image references are the
# longest); anything longer is a paste gone wrong and is never echoed.
MAX_TEXT = 2048
# A list of thousands of broken entries is reported by its first problems and a count.
MAX_SHOWN_PROBLEMS = 50


class SpecError(Exception):
    """A stack file that cannot be deployed. The message names the file and every problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        count = f"{len(problems):,} problem" + ("s" if len(problems) != 1 else "")
        lines = [f"{source}: {count} in the stack configuration:"]
        lines += [f"  - {p}" for p in problems[:MAX_SHOWN_PROBLEMS]]
        if len(problems) > MAX_SHOWN_PROBLEMS:
            lines.append(f"  ... and {len(problems) - MAX_SHOWN_PROBLEMS:,} more, most likely of the same kind")
        lines.append("Nothing was created, changed or deleted.")
        super().__init__("\n".join(lines))


def decode(raw: Any) -> Any:
    """Pulumi hands structured config to programs as JSON text; plain strings stay strings."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return raw


def parse_stack_config(config: Mapping[str, Any], source: str) -> StackSpec:
    """Turn a stack's config map (`{"ml-serving:models": ..., "aws:region": ...}`) into a StackSpec.

    Keys of the providers' namespaces (aws:, kubernetes:, ...) are left to them, except
    `aws:region`. Unknown `ml-serving:` keys, unknown namespaces and keys near `ml-serving`
    are errors, never silently ignored: a misspelt namespace would otherwise deploy a stack
    with no models.
    """
    fields = StackSpec.model_fields
    data: dict[str, Any] = {}
    problems: list[str] = []
    prefix = f"{PROJECT}:"
    allowed = sorted(f"{prefix}{f}" for f in fields if f != "region")
    for key, raw in config.items():
        key = str(key)
        if len(key) > SHOWN:
            problems.append(f"{shown(key)}: not a config key (keys are <namespace>:<name>, a few words long)")
        elif key == REGION_KEY:
            data["region"] = decode(raw)
        elif key.startswith(prefix):
            name = key[len(prefix):]
            if name in fields and name != "region":
                data[name] = decode(raw)
            else:
                problems.append(_unknown(key, allowed))
        else:
            problem = _namespace_problem(key, allowed)
            if problem:
                problems.append(problem)
    if "region" not in data:
        near = [k for k in map(str, config) if k.startswith("aws:") and _near(k, REGION_KEY)]
        if near:
            problems.append(f"{near[0]}: unknown key (did you mean {REGION_KEY}?)")
    oversized = _oversized(data)
    problems += [f"{_path(loc)}: {message}" for loc, message in oversized]
    try:
        spec = StackSpec.model_validate(data)
    except ValidationError as error:
        skip = {loc for loc, _ in oversized}
        errors = [e for e in error.errors(include_url=False) if not _under(tuple(e["loc"]), skip)]
        found = [_describe(e) for e in errors]
        found += [
            _describe(e)
            for e in partial_problems(StackSpec, data)
            if not _under(tuple(e["loc"]), skip)
        ]
        problems += _unique(found)
        spec = None
    if problems or spec is None:
        raise SpecError(source, [_readable(p) for p in problems])
    return spec


def _near(key: str, target: str) -> bool:
    squashed = re.sub(r"[^a-z0-9:]", "", key.lower())
    return squashed == re.sub(r"[^a-z0-9:]", "", target) or difflib.SequenceMatcher(None, key.lower(), target).ratio() >= 0.8


def _namespace_problem(key: str, allowed: list[str]) -> str | None:
    namespace, colon, name = key.partition(":")
    if not colon:
        close = difflib.get_close_matches(f"{PROJECT}:{key}", allowed, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"{shown(key)[1:-1]}: a config key needs a namespace, <namespace>:<name>{hint}"
    if namespace in NAMESPACES:
        return None
    if _near(namespace, PROJECT):
        close = difflib.get_close_matches(f"{PROJECT}:{name}", allowed, n=1)
        suggestion = close[0] if close else f"{PROJECT}:{name}"
        return (
            f"{key}: unknown namespace {namespace!r} (did you mean {suggestion}?); "
            f"ml-serving reads only {PROJECT}: keys, so this one would be ignored"
        )
    close = difflib.get_close_matches(namespace, NAMESPACES, n=1)
    hint = f" (did you mean {close[0]}:{name}?)" if close else ""
    return (
        f"{key}: unknown namespace {namespace!r}{hint}; allowed: {', '.join(f'{n}:' for n in NAMESPACES)} "
        "(the providers this program uses, and Pulumi's own)"
    )


def _oversized(value: Any, loc: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    """Text longer than any real value, anywhere: reported once, never quoted whole."""
    found: list[tuple[tuple[Any, ...], str]] = []
    if isinstance(value, str) and len(value) > MAX_TEXT:
        found.append((loc, f"{len(value):,} characters (starting {shown(value[:20])}); values are at most {MAX_TEXT:,}"))
    elif isinstance(value, dict):
        for key, child in value.items():
            if isinstance(key, str) and len(key) > MAX_TEXT:
                found.append((loc, f"a {len(key):,}-character key (starting {shown(key[:20])}); keys are short names"))
            else:
                found += _oversized(child, (*loc, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _oversized(child, (*loc, index))
    return found


def _under(loc: tuple[Any, ...], roots: set[tuple[Any, ...]]) -> bool:
    return any(loc[: len(root)] == root for root in roots)


def _unique(problems: list[str]) -> list[str]:
    seen: set[str] = set()
    return [p for p in problems if not (p in seen or seen.add(p))]


def _readable(problem: str) -> str:
    # Whatever a validator quoted, no single run of text in a message is longer than a line.
    return re.sub(r"\S{121,}", lambda m: f"{m.group(0)[:SHOWN]}...", problem)


def _unknown(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{shown(key)[1:-1]}: unknown key{hint}; allowed: {', '.join(allowed)}"


def _path(loc: tuple[Any, ...]) -> str:
    if not loc:
        return "(stack)"
    head, *rest = loc
    text = REGION_KEY if head == "region" else f"{PROJECT}:{head}"
    for part in rest:
        text += f"[{part}]" if isinstance(part, int) else f".{shown(part)[1:-1] if isinstance(part, str) else part}"
    return text


def _describe(error: Mapping[str, Any]) -> str:
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
    got = ""
    if kind != "ml_serving_rule" and isinstance(value, (str, int, float, bool)):
        got = f" (got {shown(value)})"
    return f"{_path(loc)}: {message}{got}{_quote_hint(error)}"


def _quote_hint(error: Mapping[str, Any]) -> str:
    """A number (or yes/no) where text is expected is nearly always a value YAML read as
    something else: an unquoted version (1.35, 2) or word. Say how to write it."""
    value = error.get("input")
    kind = error["type"]
    if kind not in ("literal_error", "string_type") or not isinstance(value, (int, float)):
        return ""
    expected: list[str] = []
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str((error.get("ctx") or {}).get("expected", "")))
        if not expected:
            return ""
    if isinstance(value, bool):
        return "; YAML reads true/false/yes/no/on/off unquoted as a boolean: write the value in quotes"
    if kind == "string_type":
        return f'; write it as a string: "{value}"'
    # YAML reads 1.30 as the number 1.3: offer the allowed text that number came from.
    matching = [e for e in expected if _same_number(e, value)]
    if matching:
        return f'; write it as a string: "{matching[0]}"'
    return f'; unquoted, YAML reads it as a number: write it as a string, such as "{expected[-1]}"'


def _same_number(text: str, value: float) -> bool:
    try:
        return float(text) == float(value)
    except ValueError:
        return False


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
