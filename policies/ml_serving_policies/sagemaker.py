"""SageMaker endpoint updates: a small first traffic step, rolled back by alarms."""
from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .settings import config_schema, settings
from .values import get, items, number, shown

ENDPOINT = "aws:sagemaker/endpoint:Endpoint"

CANARY_SCHEMA = {
    "maxFirstStepPercent": {
        "type": "integer", "minimum": 1, "maximum": 50, "default": 10,
        "description": "Largest share of capacity the first step of an endpoint update may shift (CAPACITY_PERCENT).",
    },
    "maxFirstStepInstances": {
        "type": "integer", "minimum": 1, "default": 1,
        "description": "Largest number of instances the first step may shift (INSTANCE_COUNT).",
    },
}


def _check_step(label: str, size: Any, config: dict[str, Any], report: ReportViolation) -> None:
    kind, value = get(size, "type"), number(get(size, "value"))
    # Config values arrive as floats too.
    percent, instances = int(config["maxFirstStepPercent"]), int(config["maxFirstStepInstances"])
    if value is None:
        report(f"{label} has no value.")
    elif kind == "CAPACITY_PERCENT" and value > percent:
        report(f"{label} shifts {shown(value)}% of capacity first; at most {percent}% here.")
    elif kind == "INSTANCE_COUNT" and value > instances:
        report(f"{label} shifts {shown(value)} instances first; at most {instances} here.")


def _check_first_step(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ENDPOINT:
        return
    config = settings(args, CANARY_SCHEMA)
    deployment = get(args.props, "deploymentConfig")
    routing = get(deployment, "blueGreenUpdatePolicy", "trafficRoutingConfiguration")
    rolling = get(deployment, "rollingUpdatePolicy")
    if routing is None and rolling is None:
        report("no deploymentConfig traffic shifting: an update moves all traffic to the new fleet at once.")
        return
    if rolling is not None:
        _check_step("rollingUpdatePolicy.maximumBatchSize", get(rolling, "maximumBatchSize"), config, report)
        return
    kind = get(routing, "type")
    if kind == "ALL_AT_ONCE":
        report("trafficRoutingConfiguration.type is ALL_AT_ONCE; use CANARY or LINEAR.")
    elif kind == "CANARY":
        _check_step("canarySize", get(routing, "canarySize"), config, report)
    elif kind == "LINEAR":
        _check_step("linearStepSize", get(routing, "linearStepSize"), config, report)


CANARY_FIRST_STEP = ResourceValidationPolicy(
    name="sagemaker-canary-first-step-small",
    display_name="Small first canary step",
    description=(
        "SageMaker endpoint updates shift traffic in steps (CANARY, LINEAR or rolling batches) and the first "
        "step stays within the environment's maxFirstStepPercent / maxFirstStepInstances."
    ),
    validate=_check_first_step,
    config_schema=config_schema(CANARY_SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["sagemaker", "rollout", "reliability"],
    remediation_steps=(
        "Give the model a canary policy whose first step is small (e.g. steps: [10, 50, 100]); it compiles to "
        "deployment_config.blue_green_update_policy with CANARY traffic routing and canary_size in CAPACITY_PERCENT."
    ),
)


def _check_rollback(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ENDPOINT:
        return
    alarms = items(get(args.props, "deploymentConfig", "autoRollbackConfiguration", "alarms"))
    if not [a for a in alarms if get(a, "alarmName")]:
        report("deploymentConfig.autoRollbackConfiguration names no CloudWatch alarms, so a bad update is "
               "never rolled back automatically.")


AUTO_ROLLBACK = ResourceValidationPolicy(
    name="sagemaker-auto-rollback-alarms",
    display_name="SageMaker auto-rollback alarms",
    description="Every SageMaker endpoint names CloudWatch alarms in deploymentConfig.autoRollbackConfiguration.",
    validate=_check_rollback,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["sagemaker", "rollout", "reliability"],
    remediation_steps=(
        "Add canary gates (error_rate, latency_p99) to the model; they compile to CloudWatch alarms on the "
        "variant's errors and latency, listed under auto_rollback_configuration.alarms."
    ),
)

POLICIES = [CANARY_FIRST_STEP, AUTO_ROLLBACK]
