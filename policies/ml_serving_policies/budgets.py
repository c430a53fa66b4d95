"""Cost budgets per environment: the preview's idle and busy monthly estimates under ceilings,
and warm capacity (instances and replicas paid for before any request needs them) bounded."""
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

from .review import facts_of, models, money
from .settings import config_schema, settings
from .values import get, items, number

BUDGET_SCHEMA = {
    "maxIdleMonthlyUsd": {
        "type": "number", "minimum": 0, "default": 25000,
        "description": "Ceiling on the estimate with every model at its floor (what the stack costs doing nothing).",
    },
    "maxBusyMonthlyUsd": {
        "type": "number", "minimum": 0, "default": 60000,
        "description": "Ceiling on the estimate with every model at max replicas (what a month at peak costs).",
    },
    "approval": {
        "type": "string", "default": "",
        "description": "Who agreed to the ceilings and why, kept beside them for review; the check does not read it.",
    },
    "lineItemsShown": {
        "type": "integer", "minimum": 1, "default": 5,
        "description": "How many of the largest line items the message lists.",
    },
}


def _largest(estimate: Mapping[str, Any], count: int) -> str:
    rows = sorted(items(get(estimate, "items")), key=lambda i: -(number(get(i, "monthlyUsd")) or 0))[:count]
    return "; ".join(
        f"{get(r, 'item')}: {number(get(r, 'quantity')):g} {get(r, 'unit')} = {money(number(get(r, 'monthlyUsd')) or 0)}"
        for r in rows
    )


def _check_budget(args: ResourceValidationArgs, report: ReportViolation) -> None:
    facts = facts_of(args.resource_type, args.props)
    if facts is None:
        return
    config = settings(args, BUDGET_SCHEMA)
    shown = int(config["lineItemsShown"])
    for scenario, key, what in (("idle", "maxIdleMonthlyUsd", "every model at its floor"),
                                ("busy", "maxBusyMonthlyUsd", "every model at max replicas")):
        estimate = get(facts, "cost", scenario, default={})
        total = number(get(estimate, "monthlyUsd"))
        ceiling = float(config[key])
        if total is not None and total > ceiling:
            report(f"the {scenario} estimate ({what}) is {money(total)}/month, over this environment's "
                   f"{key} of {money(ceiling)}. Largest items: {_largest(estimate, shown)}. Lower min_size/"
                   "max_size of the GPU pools, models' min/max replicas or warm capacity, or raise the budget in "
                   "policies/config.<env>.json with the owner's approval.")


COST_BUDGET = ResourceValidationPolicy(
    name="monthly-cost-within-budget",
    display_name="Monthly cost within budget",
    description=(
        "Judgement with a threshold (policy; a budget is an environment's decision): the preview's cost "
        "estimate (components/planning/cost.py, published on the stack's StackReview) stays under the "
        "environment's idle and busy monthly ceilings. Mandatory in every environment, dev included: a "
        "forgotten GPU pool bills the same in dev. The message lists the estimate's largest line items."
    ),
    validate=_check_budget,
    config_schema=config_schema(BUDGET_SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["cost"],
    remediation_steps=(
        "Read build/<stack>/cost.json for every line item; shrink what dominates it, or raise "
        "maxIdleMonthlyUsd / maxBusyMonthlyUsd in policies/config.<env>.json once the budget owner agrees."
    ),
)

WARM_SCHEMA = {
    "maxRunningWarmNodes": {
        "type": "integer", "minimum": 0, "default": 2,
        "description": "Warm-pool GPU instances kept running (billed at the full instance price) across all pools.",
    },
    "maxWarmNodes": {
        "type": "integer", "minimum": 0, "default": 4,
        "description": "Warm-pool GPU instances in any state (stopped ones bill their volumes) across all pools.",
    },
    "maxWarmReplicasPerModel": {
        "type": "integer", "minimum": 0, "default": 2,
        "description": "Spare replicas (placeholder pods or extra SageMaker instances) one model may hold.",
    },
}


def _check_warm(args: ResourceValidationArgs, report: ReportViolation) -> None:
    facts = facts_of(args.resource_type, args.props)
    if facts is None:
        return
    config = settings(args, WARM_SCHEMA)
    pools = items(get(facts, "warmNodes"))
    running = [p for p in pools if get(p, "state") == "running"]
    running_count = sum(int(number(get(p, "instances")) or 0) for p in running)
    total = sum(int(number(get(p, "instances")) or 0) for p in pools)
    if running_count > config["maxRunningWarmNodes"]:
        usd = sum(number(get(p, "runningMonthlyUsd")) or 0 for p in running)
        detail = ", ".join(f"{get(p, 'pool')}: {number(get(p, 'instances')):g} x {get(p, 'instanceType')}" for p in running)
        report(f"{running_count} warm-pool GPU instances are kept running ({detail}; {money(usd)}/month with no "
               f"request served); at most {config['maxRunningWarmNodes']} here. Use warm_pool.state: stopped "
               "(EBS only) or a smaller warm_pool.min_size.")
    if total > config["maxWarmNodes"]:
        report(f"{total} warm-pool GPU instances across pools; at most {config['maxWarmNodes']} here. Lower the "
               "pools' warm_pool.min_size.")
    for model in models(facts):
        warm = int(number(get(model, "warmReplicas")) or 0)
        if warm > config["maxWarmReplicasPerModel"]:
            report(f"model {get(model, 'name')} keeps {warm} spare replicas warm; at most "
                   f"{config['maxWarmReplicasPerModel']} here. Lower its autoscaling.warm_pool.")


WARM_CAPACITY = ResourceValidationPolicy(
    name="warm-capacity-bounded",
    display_name="Warm capacity bounded",
    description=(
        "Judgement with a threshold (policy): capacity paid for ahead of demand stays small: running and total "
        "warm-pool GPU instances, and spare replicas per model. Mandatory in every environment (it is cost)."
    ),
    validate=_check_warm,
    config_schema=config_schema(WARM_SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["cost", "gpu"],
    remediation_steps=(
        "Prefer warm_pool.state: stopped for node warm pools (a start skips the launch and boot), and one or two "
        "spare replicas per model."
    ),
)

POLICIES = [COST_BUDGET, WARM_CAPACITY]
