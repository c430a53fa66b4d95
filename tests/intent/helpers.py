"""Assertion helpers for intent validation errors."""
from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError


def errors_of(model: type[BaseModel], data: dict[str, Any]) -> dict[tuple, str]:
    """{field path: message} of every problem pydantic reports for `data`."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return {tuple(e["loc"]): e["msg"].removeprefix("Value error, ") for e in caught.value.errors()}
