"""The stack's reviewed facts: the inputs of its `ml-serving:review:StackReview` component
(components/compilers/review.py writes them) — cost estimate, chart pins, account, and each
model's intent. Policies that judge intent read them here."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .values import get, items, mapping

REVIEW = "ml-serving:review:StackReview"


def facts_of(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return props if resource_type == REVIEW else None


def models(facts: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for model in items(get(facts, "models")):
        yield mapping(model)


def money(usd: float) -> str:
    return f"${usd:,.0f}"
