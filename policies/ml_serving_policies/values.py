"""Reading resource properties the way CrossGuard hands them over.

In a real preview the props are read-only Mapping/Sequence proxies (not dicts and lists) that
raise UnknownValueError when a policy touches a value computed later, and every number is a
float. These helpers accept the proxies as well as the plain data the offline preview and the
tests pass, and never assume a key is present.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from pulumi_policy.proxy import UnknownValueError

T = TypeVar("T")
EMPTY: Mapping[str, Any] = {}


def is_map(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def get(value: Any, *path: str | int, default: Any = None) -> Any:
    """value[path[0]][path[1]]..., or `default` where any step is missing or null."""
    for key in path:
        if isinstance(key, int):
            if not is_list(value) or not -len(value) <= key < len(value):
                return default
        elif not is_map(value) or key not in value:
            return default
        value = value[key]
        if value is None:
            return default
    return value


def mapping(value: Any) -> Mapping[str, Any]:
    return value if is_map(value) else EMPTY


def items(value: Any) -> list[Any]:
    return list(value) if is_list(value) else []


def strings(value: Any) -> list[str]:
    """A string or a list of strings (IAM's Action and Resource take both) as a list."""
    if isinstance(value, str):
        return [value]
    return [v for v in items(value) if isinstance(v, str)]


def number(value: Any) -> float | None:
    """Numbers arrive as floats, Kubernetes quantities often as strings ("1")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def shown(value: Any) -> str:
    """A value as a message shows it: 4.0 as 4, strings quoted."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def json_document(value: Any) -> Any:
    """IAM and bucket policies are JSON text (or, rarely, an already-parsed object)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value if is_map(value) else None


def tolerant(body: Callable[[], T], default: T) -> T:
    """Run `body`; where it touches a value only known after deployment, give `default`.

    Stack policies use it per resource, so one unknown value skips that resource instead of
    turning the whole policy into "can't run during preview".
    """
    try:
        return body()
    except UnknownValueError:
        return default



def present(value: Any, *path: str | int) -> bool:
    """Whether the value at `path` is set, counting values only known after deployment (a KMS key
    ARN created in the same update) as set."""
    try:
        return get(value, *path) is not None
    except UnknownValueError:
        return True
