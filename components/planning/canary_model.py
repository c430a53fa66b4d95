"""A pure model of what Flagger v1.44 does with one of our Canaries at each analysis interval.

It follows pkg/controller/scheduler.go for the paths our Canary takes (a Service target,
Gateway API router, canary strategy with stepWeights, threshold, and the two presence hooks):

1. A changed target spec (a new candidate) restarts the analysis at weight 0.
2. Failed checks at the threshold: roll back (candidate weight 0, phase Failed).
3. At weight 0 with no iterations: start the analysis, no metrics yet (nothing was exposed).
4. Otherwise run every metric check; one out of range counts a failed check and stops here.
5. The presence hook (confirm-traffic-increase / confirm-promotion) holds while data is absent.
6. Below the last step: advance to the next; at the last step: promote, then finalise.

Tests drive it with check outcomes that promtool computes from synthetic series over the
queries we render (tests/compilers/test_flagger_analysis.py), and the preview summary uses
`describe` for each model's state machine in one line.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

Phase = Literal["Initialized", "Progressing", "Promoting", "Finalising", "Succeeded", "Failed"]
# A metric check's verdict: in range, out of range, or no value (Flagger's ErrNoValuesFound:
# empty result or NaN), which Flagger also counts as a failed check.
Check = Literal["pass", "breach", "no-data"]


@dataclass(frozen=True)
class CanaryPlan:
    steps: tuple[int, ...]
    threshold: int
    interval_s: int
    presence_hooks: bool

    @classmethod
    def from_manifest(cls, canary: dict[str, Any]) -> CanaryPlan:
        analysis = canary["spec"]["analysis"]
        hooks = {h["type"] for h in analysis.get("webhooks", [])}
        return cls(
            steps=tuple(int(w) for w in analysis["stepWeights"]),
            threshold=int(analysis["threshold"]),
            interval_s=int(str(analysis["interval"]).rstrip("s")),
            presence_hooks={"confirm-traffic-increase", "confirm-promotion"} <= hooks,
        )


@dataclass(frozen=True)
class CanaryState:
    phase: Phase
    weight: int  # the candidate's share of the model's requests, percent
    failed_checks: int
    iterations: int
    target: str  # the target Service spec Flagger last analysed (its lastAppliedSpec)
    events: tuple[str, ...] = field(default=())


def initial(target: str) -> CanaryState:
    """A new Canary: Flagger records the target as the baseline; the primary is ours already."""
    return CanaryState("Initialized", 0, 0, 0, target, ("Initialization done",))


def tick(
    plan: CanaryPlan,
    state: CanaryState,
    target: str,
    checks: list[Check],
    data_present: bool,
) -> CanaryState:
    """One analysis interval. `checks`: each metric's verdict from its query; `data_present`:
    the presence hook's verdict (every gate value has data)."""

    def event(text: str, **changes: Any) -> CanaryState:
        return replace(state, events=(*state.events, text), **changes)

    if target != state.target:
        # New revision (or a first one after Succeeded/Failed): back to weight 0 and analyse it.
        return event("New revision detected, starting analysis", phase="Progressing", weight=0,
                     failed_checks=0, iterations=0, target=target)
    if state.phase in ("Initialized", "Succeeded", "Failed"):
        return state  # nothing to analyse until the target changes
    if state.phase == "Promoting":
        return event("Routing all traffic to primary", phase="Finalising", weight=0)
    if state.phase == "Finalising":
        return event("Promotion completed", phase="Succeeded")
    if state.failed_checks >= plan.threshold:
        return event(f"Rolling back: failed checks threshold reached {state.failed_checks}",
                     phase="Failed", weight=0)
    if state.weight == 0 and state.iterations == 0:
        pass  # first interval: pre-rollout hooks only, no metrics (nothing exposed yet)
    elif "breach" in checks:
        return event("Halt advancement: a gate is out of range", failed_checks=state.failed_checks + 1)
    elif "no-data" in checks:
        return event("Halt advancement: no values found", failed_checks=state.failed_checks + 1)
    # The presence hooks pass at weight 0 (presence_query): nothing can be measured yet.
    if plan.presence_hooks and not data_present and state.weight > 0:
        return event("Halt advancement waiting for approval: gates have no data")
    bigger = [w for w in plan.steps if w > state.weight]
    if bigger:
        return event(f"Advance canary weight {bigger[0]}", weight=bigger[0], iterations=state.iterations + 1)
    return event("Copying target spec to primary", phase="Promoting")


def describe(plan: CanaryPlan) -> str:
    """The state machine of one model's automated rollout, in one line."""
    steps = " -> ".join(f"{w}%" for w in plan.steps)
    hold = "no data holds the step" if plan.presence_hooks else "no data counts as a failed check"
    return (
        f"Flagger: 0% -> {steps} -> promote, one step per {plan.interval_s}s while every gate holds; "
        f"{plan.threshold} failed check(s) -> weight 0 (Failed); {hold}"
    )
