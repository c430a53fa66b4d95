"""Rollout rules over a canary's declared steps, for both targets: bounded growth between
steps, a brand-new candidate starting at the first step and moving one step per change,
rollback on breach, and gates at least as strict as the stable version's objectives."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .review import facts_of, models
from .settings import config_schema, settings
from .values import get, items, number


def _canaries(args: ResourceValidationArgs):
    facts = facts_of(args.resource_type, args.props)
    if facts is None:
        return
    for model in models(facts):
        canary = get(model, "canary")
        if canary is not None:
            yield facts, model, canary


def _steps(canary: Mapping[str, Any]) -> list[int]:
    return [int(number(s) or 0) for s in items(get(canary, "steps"))]


GROWTH_SCHEMA = {
    "maxGrowthFactor": {
        "type": "number", "minimum": 1, "default": 2.5,
        "description": "Largest ratio between a step and the one before it (10 -> 25 is 2.5).",
    },
    "maxStepIncrease": {
        "type": "integer", "minimum": 1, "maximum": 100, "default": 50,
        "description": "Largest increase, in percentage points, from one step to the next.",
    },
}


def _check_growth(args: ResourceValidationArgs, report: ReportViolation) -> None:
    config = settings(args, GROWTH_SCHEMA)
    factor, increase = float(config["maxGrowthFactor"]), int(config["maxStepIncrease"])
    for facts, model, canary in _canaries(args):
        steps = _steps(canary)
        # SageMaker's CANARY shift is two steps by construction; its second step happens under the
        # CloudWatch rollback alarms (sagemaker-auto-rollback-alarms), which no EKS step has.
        if get(facts, "target") == "sagemaker" and len(steps) == 2:
            continue
        for before, after in zip(steps, steps[1:]):
            if before and (after / before > factor or after - before > increase):
                report(f"model {get(model, 'name')}: the canary jumps from {before}% to {after}% of requests "
                       f"(steps {steps}); here a step may grow at most {factor:g}x and {increase} points, so a "
                       f"regression the gates missed at {before}% does not reach {after}% at once. Add steps "
                       f"between, e.g. {_suggest(steps, factor, increase)}.")
                break


def _suggest(steps: list[int], factor: float, increase: int) -> list[int]:
    out = [steps[0]]
    while out[-1] < 100:
        out.append(min(100, int(out[-1] * factor), out[-1] + increase))
    return out


CANARY_GROWTH = ResourceValidationPolicy(
    name="canary-step-growth-bounded",
    display_name="Canary steps grow gradually",
    description=(
        "Judgement with a threshold (policy): between declared canary steps the share grows by at most "
        "maxGrowthFactor and maxStepIncrease points, so [10, 100] is stopped. SageMaker's two-step CANARY "
        "shift is exempt: SageMaker shifts the rest itself under the rollback alarms."
    ),
    validate=_check_growth,
    config_schema=config_schema(GROWTH_SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["rollout", "reliability"],
    remediation_steps="Declare intermediate steps, e.g. steps: [10, 25, 50, 100].",
)


def _check_progress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for _, model, canary in _canaries(args):
        steps = _steps(canary)
        now = int(number(get(canary, "trafficPercent")) or 0)
        before = int(number(get(canary, "previousPercent")) or 0)
        if not steps or now <= before:
            continue  # holding, or rolling back: always allowed
        allowed = next((s for s in steps if s > before), steps[-1])
        if now > allowed:
            name = get(model, "name")
            if before == 0:
                report(f"model {name}: the candidate {get(canary, 'version')} is brand-new (no previous_percent) but "
                       f"takes {now}% of requests at once; start it at the first step: traffic_percent: {steps[0]}. "
                       f"If it already served {steps[0]}% and passed its gates, say so with "
                       f"previous_percent: {steps[0]}.")
            else:
                report(f"model {name}: the candidate moves from {before}% to {now}%, skipping steps of {steps}; move "
                       f"one step per change: traffic_percent: {allowed}.")


CANARY_PROGRESS = ResourceValidationPolicy(
    name="canary-one-step-at-a-time",
    display_name="Brand-new candidates start at the first step",
    description=(
        "Judgement (policy; a stack file cannot show history, so canary.previous_percent declares it): a "
        "candidate without previous_percent is brand-new and takes at most the first step; otherwise a change "
        "moves it at most one step up. Holding and rolling back are always allowed."
    ),
    validate=_check_progress,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["rollout", "reliability"],
    remediation_steps="Set canary.traffic_percent to the next step and canary.previous_percent to the step it was at.",
)


def _check_rollback(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for _, model, canary in _canaries(args):
        if get(canary, "rollbackOnBreach") is not True:
            report(f"model {get(model, 'name')}: canary.rollback_on_breach is off, so a breached gate leaves the "
                   "candidate serving its share; set rollback_on_breach: true.")


CANARY_ROLLBACK = ResourceValidationPolicy(
    name="canary-rollback-on-breach",
    display_name="Canary rollback on breach",
    description=(
        "Judgement (policy; dev may watch a candidate fail on purpose): every canary declares "
        "rollback_on_breach: true. This is the declared setting; whether an automated actor performs the "
        "rollback on EKS is a separate policy."
    ),
    validate=_check_rollback,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["rollout", "reliability"],
    remediation_steps="Set canary.rollback_on_breach: true (the default).",
)

GATES_SCHEMA = {
    "maxGateToSlo": {
        "type": "number", "minimum": 0.1, "default": 1.0,
        "description": "A gate's absolute max_value may be at most this multiple of the stable objective.",
    },
    "maxRatioToStable": {
        "type": "number", "minimum": 1, "default": 1.5,
        "description": "Loosest max_ratio_to_stable a gate may allow.",
    },
}
# Gate metric -> the objective it is measured against.
SLO_OF = {"error_rate": ("errorRate", "slo.error_rate"), "ttft_p99": ("ttftP99Ms", "slo.ttft_p99_ms"),
          "latency_p99": ("latencyP99Ms", "slo.latency_p99_ms")}


def _check_gates(args: ResourceValidationArgs, report: ReportViolation) -> None:
    config = settings(args, GATES_SCHEMA)
    multiple, ratio_limit = float(config["maxGateToSlo"]), float(config["maxRatioToStable"])
    facts = facts_of(args.resource_type, args.props)
    for model in models(facts) if facts is not None else []:
        canary = get(model, "canary")
        blocks = [("canary.gates", items(get(canary, "gates")) if canary is not None else [],
                   number(get(canary, "stepIntervalS")) if canary is not None else None),
                  ("experiment.gates", items(get(model, "experimentGates")), None),
                  ("shadow.gates", items(get(model, "shadowGates")), None)]
        for block, gates, bake in blocks:
            for index, gate in enumerate(gates):
                _check_gate(model, f"model {get(model, 'name')}: {block}[{index}]", gate, bake, multiple, ratio_limit,
                            report)


def _check_gate(model, where: str, gate, bake: float | None, multiple: float, ratio_limit: float,
                report: ReportViolation) -> None:
    metric = get(gate, "metric")
    value, ratio = number(get(gate, "maxValue")), number(get(gate, "maxRatioToStable"))
    key, field = SLO_OF.get(metric, (None, None))
    objective = number(get(model, "slo", key)) if key else None
    where = f"{where} ({metric})"
    if value is not None and objective is not None and value > objective * multiple:
        report(f"{where} allows the candidate {value:g}, looser than the stable objective {field} = "
               f"{objective:g}: a candidate breaking the SLO would still pass. Set max_value to at most "
               f"{objective * multiple:g}.")
    if ratio is not None and ratio > ratio_limit:
        report(f"{where} lets the candidate be {ratio:g}x worse than stable; at most {ratio_limit:g}x here.")
    window = number(get(gate, "windowS"))
    if window is not None and bake is not None and window > bake:
        report(f"{where} measures over {window:g} s, longer than each step's bake (step_interval_s "
               f"{bake:g} s): traffic moves on before the gate has seen a full window. Set window_s to at "
               f"most {bake:g} or bake longer.")


CANARY_GATES = ResourceValidationPolicy(
    name="canary-gates-within-slo",
    display_name="Canary gates at least as strict as the SLO",
    description=(
        "Judgement with thresholds (policy): a gate's absolute ceiling (canary, experiment arm or shadow) is no "
        "looser than the stable version's objective for that metric (times maxGateToSlo), its ratio to stable at "
        "most maxRatioToStable, and a canary gate's window no longer than a step's bake, so a version that breaks "
        "the SLO trips its gate in time."
    ),
    validate=_check_gates,
    config_schema=config_schema(GATES_SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["rollout", "slo"],
    remediation_steps="Set each gate's max_value at or below the model's objective (slo block).",
)

POLICIES = [CANARY_GROWTH, CANARY_PROGRESS, CANARY_ROLLBACK, CANARY_GATES]
