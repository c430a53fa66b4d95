"""Prod canaries roll back by themselves: on EKS Flagger drives them, on SageMaker the
deployment guardrails do (sagemaker-auto-rollback-alarms checks their alarms)."""
from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .values import get, items

HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
FLAGGER_CANARY = "kubernetes:flagger.app/v1beta1:Canary"
# Written by components/compilers/routing.py on the route of a canary the stack file steps by hand.
MANUAL_ANNOTATION = "ml-serving/canary-rollback"


def _check(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == HTTP_ROUTE:
        if get(args.props, "metadata", "annotations", MANUAL_ANNOTATION) == "manual":
            name = get(args.props, "metadata", "name", default="?")
            report(f"the canary on route {name} is stepped and rolled back by hand: a breached gate only pages. "
                   "Set automated_rollout: true on the model so Flagger rolls it back.")
        return
    if args.resource_type != FLAGGER_CANARY:
        return
    analysis = get(args.props, "spec", "analysis")
    threshold = get(analysis, "threshold")
    if get(args.props, "spec", "skipAnalysis") is True:
        report("the Flagger Canary skips its analysis: it would promote without checking a gate.")
    if not isinstance(threshold, (int, float)) or threshold < 1:
        report(f"the Flagger Canary's analysis.threshold is {threshold!r}; it needs a number of failed checks (>= 1) "
               "after which it rolls back.")
    if not items(get(analysis, "metrics")):
        report("the Flagger Canary has no metric checks, so nothing can fail and roll it back.")


CANARY_ROLLBACK_AUTOMATED = ResourceValidationPolicy(
    name="canary-rollback-automated",
    display_name="Canaries roll back by themselves",
    description=(
        "A model's canary on EKS is driven by Flagger, whose analysis has metric checks and a failed-check "
        f"threshold and is never skipped; a route annotated {MANUAL_ANNOTATION}: manual (a canary stepped in the "
        "stack file) fails. Mandatory in prod; dev and staging may step canaries by hand."
    ),
    validate=_check,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["kubernetes", "rollout", "reliability"],
    remediation_steps="Set automated_rollout: true on the model (canary.traffic_percent: 0) and keep its gates.",
)

POLICIES = [CANARY_ROLLBACK_AUTOMATED]
