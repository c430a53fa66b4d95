"""Small, valid intent objects for tests, built from the stack files so they stay realistic."""
from __future__ import annotations

import copy
from typing import Any

from components.intent.model import ModelSpec
from components.intent.stack import StackSpec
from tests.conftest import parse, stack_config


def spec_of(stack: str) -> StackSpec:
    return parse(stack_config(stack))


def model_of(stack: str, name: str, **changes: Any) -> ModelSpec:
    """A model from a stack file, with `changes` merged in (nested dicts merge)."""
    raw = next(m for m in stack_config(stack)["ml-serving:models"] if m["name"] == name)
    data = _merge(copy.deepcopy(raw), changes)
    return ModelSpec.model_validate(data)


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _merge(base[key], value)
        else:
            base[key] = value
    return base


def manual_canary_of(stack: str, name: str, percent: int = 10, **changes: Any) -> ModelSpec:
    """A model whose canary the stack file steps by hand (automated_rollout off), at `percent`."""
    canary = {"traffic_percent": percent, **changes.pop("canary", {})}
    return model_of(stack, name, automated_rollout=False, canary=canary, **changes)
