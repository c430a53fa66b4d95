"""Canaries on EKS: the first step of a rollout stays small."""
from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .settings import config_schema, settings
from .values import get, items

HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
# An automated canary's steps are its Flagger Canary's stepWeights (components/compilers/flagger.py).
FLAGGER_CANARY = "kubernetes:flagger.app/v1beta1:Canary"
# Written by components/compilers/routing.py on every model route with a canary.
STEPS_ANNOTATION = "ml-serving/canary-steps"

SCHEMA = {
    "maxFirstStepPercent": {
        "type": "integer", "minimum": 1, "maximum": 100, "default": 10,
        "description": "Largest share of a model's requests the first canary step may send to the candidate.",
    },
}


def _check_first_step(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == FLAGGER_CANARY:
        weights = items(get(args.props, "spec", "analysis", "stepWeights"))
        steps = ",".join(str(w) for w in weights) if weights else None
    elif args.resource_type == HTTP_ROUTE:
        steps = get(args.props, "metadata", "annotations", STEPS_ANNOTATION)
    else:
        return
    if not steps:
        return
    limit = int(settings(args, SCHEMA)["maxFirstStepPercent"])
    try:
        first = int(float(str(steps).split(",")[0]))
    except ValueError:
        report(f"annotation {STEPS_ANNOTATION}={steps!r} is not a list of percentages.")
        return
    if first > limit:
        report(f"the canary's first step sends {first}% of requests to the candidate; at most {limit}% here.")


EKS_CANARY_FIRST_STEP = ResourceValidationPolicy(
    name="eks-canary-first-step-small",
    display_name="Small first canary step on EKS",
    description=(
        "A model's canary on EKS starts with a small share of requests: the first of its steps (carried on the "
        f"model's HTTPRoute as {STEPS_ANNOTATION}, or an automated canary's Flagger stepWeights) stays within the "
        "environment's maxFirstStepPercent."
    ),
    validate=_check_first_step,
    config_schema=config_schema(SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["kubernetes", "rollout", "reliability"],
    remediation_steps="Start the canary's steps lower, e.g. steps: [10, 25, 50, 100].",
)

POLICIES = [EKS_CANARY_FIRST_STEP]
