"""Experiment and Shadow: traffic to versions beside the stable one that is not a rollout.

An A/B experiment sends the requests a client marks (a header or a cookie) to a variant; all
other requests take the model's default route (the stable version, or the weighted canary).
A shadow receives a mirrored copy of a share of requests; its responses are discarded.
"""
from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from components.intent.base import ModelSource, Problems, Spec, VersionLabel
from components.intent.canary import Gate

# RFC 7230 token characters: what an HTTP header (and cookie) name may contain.
_TOKEN = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"
# Header and cookie values we match exactly; kept to characters that need no escaping in
# a regular expression or a cookie.
_VALUE = r"^[A-Za-z0-9._~-]+$"


class VariantMatch(Spec):
    """How a request picks a variant: a header or a cookie with an exact value."""

    kind: Literal["header", "cookie"] = Field(description="`header` (e.g. X-Experiment-Group) or `cookie`.")
    name: str = Field(min_length=1, max_length=64, pattern=_TOKEN, description="Header or cookie name.")
    value: str = Field(min_length=1, max_length=64, pattern=_VALUE, description="Exact value that selects the variant.")


class Variant(Spec):
    """One arm of an experiment: a version of the model and the requests that reach it."""

    name: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9-]*$", description="Arm name, e.g. `b`.")
    version: VersionLabel = Field(description="Version the arm serves: the stable one, the canary's, or its own.")
    source: ModelSource | None = Field(
        None, description="Weights, for a version that is neither the stable nor the canary's (it then runs on its own)."
    )
    match: VariantMatch


class Experiment(Spec):
    """An A/B test: marked requests go to their variant, the rest take the default route."""

    name: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9-]*$", description="Experiment name.")
    variants: list[Variant] = Field(min_length=1, max_length=4, description="Arms chosen by request header or cookie.")
    sticky: bool = Field(
        False,
        description=(
            "Unmarked clients keep the version they were first routed to (a session cookie on the default route), "
            "so a weighted canary does not move a client between versions mid-session."
        ),
    )
    sticky_ttl_s: int = Field(86_400, ge=60, le=2_592_000, description="How long a sticky assignment lasts.")
    gates: list[Gate] = Field(
        default_factory=list, max_length=8, description="Bounds each variant keeps against the stable version (alerts)."
    )

    @model_validator(mode="after")
    def _distinct(self) -> Experiment:
        problems = Problems(self)
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            problems.add(("variants",), f"variant names must differ; got {names}")
        matches = [(v.match.kind, v.match.name.lower(), v.match.value) for v in self.variants]
        if len(set(matches)) != len(matches):
            problems.add(("variants",), "two variants match the same header or cookie value")
        problems.raise_if_any()
        return self


class Shadow(Spec):
    """A candidate that sees a mirrored copy of a share of requests; clients never see its answers."""

    version: VersionLabel = Field(description="Label of the shadow version.")
    source: ModelSource = Field(description="Weights of the shadow version.")
    mirror_percent: int = Field(
        10, ge=1, le=100, description="Share of requests copied to the shadow (HTTPRoute RequestMirror percent)."
    )
    gates: list[Gate] = Field(
        default_factory=list, max_length=8, description="Bounds the shadow keeps against the stable version (alerts)."
    )


def cookie_regex(match: VariantMatch) -> str:
    """A Cookie header holding `name=value` among any others (Gateway API has no cookie match)."""
    return rf"(^|.*;\s*){re.escape(match.name)}={re.escape(match.value)}(;.*|$)"
