"""Operate a SageMaker endpoint between deploys: where its deployment stands, traffic between
its variants, and rolling it back.

    python -m components.operations.sagemaker status   ENDPOINT [--json]
    python -m components.operations.sagemaker shift    ENDPOINT VARIANT=WEIGHT [VARIANT=WEIGHT ...]
    python -m components.operations.sagemaker rollback ENDPOINT [--to-config NAME | --to-variant NAME]

Each command takes `--region` (default: the AWS environment's). Rolling back:
- during a blue/green deployment, SageMaker offers no call to stop it, so the helper sets the
  deployment's first rollback alarm to ALARM, which makes SageMaker roll back as if the alarm
  had fired;
- on an endpoint with several variants, all traffic goes to the one named by --to-variant;
- on an endpoint with one variant, it redeploys the configuration named by --to-config, all
  at once, keeping the current instance count.
Afterwards set the stack file to match (canary traffic_percent: 0) or the next `pulumi up`
deploys the candidate again.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

# A rollback of a rollout should be quick and must not itself wait on the alarms that fired.
ROLLBACK_DEPLOYMENT = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}}}


class OperationError(Exception):
    """Why the operation cannot be done, worded for the operator."""


@dataclass(frozen=True)
class Clients:
    sagemaker: Any
    cloudwatch: Any
    autoscaling: Any

    @classmethod
    def for_region(cls, region: str | None = None) -> Clients:
        session = boto3.session.Session(region_name=region)
        return cls(
            sagemaker=session.client("sagemaker"),
            cloudwatch=session.client("cloudwatch"),
            autoscaling=session.client("application-autoscaling"),
        )


@dataclass
class Variant:
    name: str
    current_weight: float | None
    desired_weight: float | None
    current_instances: int | None
    desired_instances: int | None
    instance_type: str | None = None
    model: str | None = None
    statuses: list[str] = field(default_factory=list)
    scaling: tuple[int, int] | None = None  # (min, max) registered with Application Auto Scaling

    def line(self) -> str:
        parts = [
            f"weight {_shown(self.current_weight)} (desired {_shown(self.desired_weight)})",
            f"instances {_shown(self.current_instances)} (desired {_shown(self.desired_instances)})",
        ]
        if self.instance_type:
            parts.append(self.instance_type)
        if self.model:
            parts.append(f"model {self.model}")
        if self.scaling:
            parts.append(f"autoscaling {self.scaling[0]}-{self.scaling[1]}")
        if self.statuses:
            parts.append(f"status {', '.join(self.statuses)}")
        return f"variant {self.name}: " + ", ".join(parts)


@dataclass
class Alarm:
    name: str
    state: str  # OK, ALARM, INSUFFICIENT_DATA, or MISSING when the alarm does not exist
    reason: str = ""


@dataclass
class EndpointState:
    name: str
    status: str
    config: str | None
    failure_reason: str | None
    variants: list[Variant]
    pending_config: str | None = None  # the configuration a deployment in flight moves to
    pending_since: str | None = None
    pending_variants: list[Variant] = field(default_factory=list)
    traffic_routing: dict[str, Any] | None = None  # of the latest deployment
    rollback_alarms: list[Alarm] = field(default_factory=list)

    @property
    def in_flight(self) -> bool:
        return self.status in ("Updating", "SystemUpdating") or self.pending_config is not None

    def lines(self) -> list[str]:
        out = [f"endpoint {self.name}: {self.status}, configuration {self.config}"]
        if self.failure_reason:
            out.append(f"  failure: {self.failure_reason}")
        out += [f"  {v.line()}" for v in self.variants]
        if self.pending_config:
            out.append(f"  deployment in flight to {self.pending_config}" + (f" since {self.pending_since}" if self.pending_since else ""))
            out += [f"    new fleet {v.line()}" for v in self.pending_variants]
        if self.traffic_routing:
            out.append(f"  latest deployment: {describe_routing(self.traffic_routing)}")
        if self.rollback_alarms:
            alarms = ", ".join(f"{a.name} ({a.state})" for a in self.rollback_alarms)
            out.append(f"  rollback alarms: {alarms}")
        else:
            out.append("  rollback alarms: none")
        return out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _shown(value: float | int | None) -> str:
    if value is None:
        return "?"
    return f"{value:g}" if isinstance(value, float) else str(value)


def describe_routing(routing: dict[str, Any]) -> str:
    kind = routing.get("Type", "?")
    size = routing.get("CanarySize") or routing.get("LinearStepSize")
    words = kind
    if size:
        unit = "%" if size.get("Type") == "CAPACITY_PERCENT" else " instance(s)"
        words += f" {size.get('Value')}{unit} first" if kind == "CANARY" else f" {size.get('Value')}{unit} per step"
    return f"{words}, bake {routing.get('WaitIntervalInSeconds', '?')} s"


def _variant(summary: dict[str, Any]) -> Variant:
    return Variant(
        name=summary["VariantName"],
        current_weight=summary.get("CurrentWeight"),
        desired_weight=summary.get("DesiredWeight"),
        current_instances=summary.get("CurrentInstanceCount"),
        desired_instances=summary.get("DesiredInstanceCount"),
        instance_type=summary.get("InstanceType"),
        statuses=[s["Status"] for s in summary.get("VariantStatus", [])],
    )


def _call(what: str, call: Any, **kwargs: Any) -> dict[str, Any]:
    try:
        return call(**kwargs)
    except ClientError as error:
        raise OperationError(f"{what}: {error.response['Error'].get('Message') or error}") from None
    except BotoCoreError as error:
        raise OperationError(f"{what}: {error}") from None


def endpoint_state(clients: Clients, endpoint: str) -> EndpointState:
    described = _call(f"describe endpoint {endpoint}", clients.sagemaker.describe_endpoint, EndpointName=endpoint)
    variants = [_variant(v) for v in described.get("ProductionVariants", [])]
    config_name = described.get("EndpointConfigName")
    if config_name:
        _add_config_details(clients, config_name, variants)
    pending = described.get("PendingDeploymentSummary") or {}
    pending_variants = [_variant(v) for v in pending.get("ProductionVariants", [])]
    last = described.get("LastDeploymentConfig") or {}
    routing = (last.get("BlueGreenUpdatePolicy") or {}).get("TrafficRoutingConfiguration")
    alarm_names = [a["AlarmName"] for a in (last.get("AutoRollbackConfiguration") or {}).get("Alarms", [])]
    _add_scaling(clients, endpoint, variants)
    started = pending.get("StartTime")
    return EndpointState(
        name=endpoint,
        status=described["EndpointStatus"],
        config=config_name,
        failure_reason=described.get("FailureReason"),
        variants=variants,
        pending_config=pending.get("EndpointConfigName"),
        pending_since=started.isoformat() if hasattr(started, "isoformat") else started,
        pending_variants=pending_variants,
        traffic_routing=routing,
        rollback_alarms=_alarms(clients, alarm_names),
    )


def _add_config_details(clients: Clients, config_name: str, variants: list[Variant]) -> None:
    try:
        config = clients.sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    except ClientError:
        # Deleted configurations (Pulumi removes the old one after an update) leave the
        # endpoint running; the summary then lacks the instance type and model only.
        return
    by_name = {v["VariantName"]: v for v in config.get("ProductionVariants", [])}
    for variant in variants:
        declared = by_name.get(variant.name, {})
        variant.instance_type = variant.instance_type or declared.get("InstanceType")
        variant.model = declared.get("ModelName")


def _add_scaling(clients: Clients, endpoint: str, variants: list[Variant]) -> None:
    resources = {f"endpoint/{endpoint}/variant/{v.name}": v for v in variants}
    if not resources:
        return
    found = _call(
        "describe scalable targets",
        clients.autoscaling.describe_scalable_targets,
        ServiceNamespace="sagemaker",
        ResourceIds=list(resources),
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
    )
    for target in found.get("ScalableTargets", []):
        resources[target["ResourceId"]].scaling = (target["MinCapacity"], target["MaxCapacity"])


def _alarms(clients: Clients, names: list[str]) -> list[Alarm]:
    if not names:
        return []
    found = _call("describe alarms", clients.cloudwatch.describe_alarms, AlarmNames=names)
    states = {a["AlarmName"]: a for a in found.get("MetricAlarms", []) + found.get("CompositeAlarms", [])}
    return [
        Alarm(name, states[name]["StateValue"], states[name].get("StateReason", "")) if name in states else Alarm(name, "MISSING")
        for name in names
    ]


# --- operations ------------------------------------------------------------------------------


def shift(clients: Clients, endpoint: str, weights: dict[str, float]) -> EndpointState:
    """Set the share of requests each named variant gets (weights are relative); variants not
    named keep theirs. Instance counts stay with Application Auto Scaling."""
    state = endpoint_state(clients, endpoint)
    if state.status != "InService":
        raise OperationError(f"{endpoint} is {state.status}; SageMaker changes variant weights only when it is InService")
    names = [v.name for v in state.variants]
    if len(names) < 2:
        raise OperationError(
            f"{endpoint} has one variant ({', '.join(names)}): there is nothing to shift between. A blue/green "
            "rollout moves traffic between fleets of the same variant, which SageMaker drives itself; "
            "use `rollback` to stop one"
        )
    unknown = sorted(set(weights) - set(names))
    if unknown:
        raise OperationError(f"{endpoint} has no variant {', '.join(unknown)}; its variants: {', '.join(names)}")
    negative = sorted(name for name, weight in weights.items() if weight < 0)
    if negative:
        raise OperationError(f"weights are 0 or more; got a negative one for {', '.join(negative)}")
    after = {v.name: (weights[v.name] if v.name in weights else v.desired_weight or 0.0) for v in state.variants}
    if not any(after.values()):
        raise OperationError(f"at least one variant of {endpoint} must keep a weight above 0")
    _call(
        f"update weights of {endpoint}",
        clients.sagemaker.update_endpoint_weights_and_capacities,
        EndpointName=endpoint,
        DesiredWeightsAndCapacities=[{"VariantName": name, "DesiredWeight": float(w)} for name, w in weights.items()],
    )
    return endpoint_state(clients, endpoint)


@dataclass
class Rollback:
    action: str  # "alarm", "weights" or "redeploy"
    message: str
    state: EndpointState


def rollback(
    clients: Clients,
    endpoint: str,
    *,
    to_config: str | None = None,
    to_variant: str | None = None,
    reason: str = "manual rollback (components.operations.sagemaker)",
) -> Rollback:
    state = endpoint_state(clients, endpoint)
    if state.in_flight:
        return _trip_alarm(clients, state, reason)
    if state.status != "InService":
        detail = f" ({state.failure_reason})" if state.failure_reason else ""
        raise OperationError(
            f"{endpoint} is {state.status}{detail}: nothing here to roll back from; set the stack file back "
            "(canary traffic_percent: 0) and run `pulumi up`"
        )
    if len(state.variants) > 1 or to_variant is not None:
        return _all_traffic_to(clients, state, to_variant)
    return _redeploy(clients, state, to_config)


def _trip_alarm(clients: Clients, state: EndpointState, reason: str) -> Rollback:
    existing = [a for a in state.rollback_alarms if a.state != "MISSING"]
    if not existing:
        raise OperationError(
            f"a deployment of {state.name} to {state.pending_config or '?'} is in flight without rollback alarms, "
            "and SageMaker has no call to stop one; wait for it to finish, then roll back with --to-config "
            f"{state.config}"
        )
    alarm = existing[0]
    _call(
        f"set alarm {alarm.name}",
        clients.cloudwatch.set_alarm_state,
        AlarmName=alarm.name,
        StateValue="ALARM",
        StateReason=reason,
    )
    message = (
        f"set {alarm.name} to ALARM: SageMaker rolls the deployment to {state.pending_config or '?'} back to "
        f"{state.config} (the alarm returns to its measured state at its next evaluation)"
    )
    return Rollback("alarm", message, endpoint_state(clients, state.name))


def _all_traffic_to(clients: Clients, state: EndpointState, to_variant: str | None) -> Rollback:
    names = [v.name for v in state.variants]
    if to_variant is None:
        weights = ", ".join(f"{v.name} ({_shown(v.current_weight)})" for v in state.variants)
        raise OperationError(f"{state.name} has several variants; name the one to send all traffic to with --to-variant: {weights}")
    if to_variant not in names:
        raise OperationError(f"{state.name} has no variant {to_variant}; its variants: {', '.join(names)}")
    if len(names) == 1:
        raise OperationError(f"{state.name} has only {to_variant}, which already takes all traffic; use --to-config")
    after = shift(clients, state.name, {name: 1.0 if name == to_variant else 0.0 for name in names})
    return Rollback("weights", f"all traffic of {state.name} now goes to {to_variant}", after)


def _redeploy(clients: Clients, state: EndpointState, to_config: str | None) -> Rollback:
    if to_config is None:
        earlier = _earlier_configs(clients, state)
        hint = f"; earlier ones still there: {', '.join(earlier)}" if earlier else "; no earlier one is left"
        raise OperationError(
            f"{state.name} serves {state.config} on one variant and no deployment is in flight: name the "
            f"configuration to go back to with --to-config{hint}"
        )
    if to_config == state.config:
        raise OperationError(f"{state.name} already serves {to_config}")
    target = _call(
        f"describe endpoint configuration {to_config}",
        clients.sagemaker.describe_endpoint_config,
        EndpointConfigName=to_config,
    )
    wanted = sorted(v["VariantName"] for v in target.get("ProductionVariants", []))
    current = sorted(v.name for v in state.variants)
    if wanted != current:
        raise OperationError(
            f"{to_config} has variants {', '.join(wanted)} but {state.name} runs {', '.join(current)}; a "
            "blue/green update keeps the variant names"
        )
    _call(
        f"update endpoint {state.name}",
        clients.sagemaker.update_endpoint,
        EndpointName=state.name,
        EndpointConfigName=to_config,
        DeploymentConfig=ROLLBACK_DEPLOYMENT,
        # Keep the instance count the endpoint has scaled to; the old configuration's is a floor.
        RetainAllVariantProperties=True,
    )
    return Rollback("redeploy", f"{state.name} is moving back to {to_config}, all at once", endpoint_state(clients, state.name))


def _earlier_configs(clients: Clients, state: EndpointState) -> list[str]:
    found = _call(
        "list endpoint configurations",
        clients.sagemaker.list_endpoint_configs,
        NameContains=state.name,
        SortBy="CreationTime",
        SortOrder="Descending",
    )
    return [c["EndpointConfigName"] for c in found.get("EndpointConfigs", []) if c["EndpointConfigName"] != state.config]


# --- command line ----------------------------------------------------------------------------


def _weights(pairs: Sequence[str]) -> dict[str, float]:
    weights: dict[str, float] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            weights[name] = float(value)
        except ValueError:
            raise OperationError(f"expected VARIANT=WEIGHT such as primary=0.9; got {pair!r}") from None
    return weights


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--region", help="AWS region (default: the AWS environment's)")
    common.add_argument("endpoint", help="endpoint name, e.g. ml-serving-prod-llama-8b")
    parser = argparse.ArgumentParser(
        prog="python -m components.operations.sagemaker", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    status = commands.add_parser("status", parents=[common], help="variants, deployment in flight, rollback alarms")
    status.add_argument("--json", action="store_true", help="print the state as JSON")
    weights = commands.add_parser("shift", parents=[common], help="set variant weights, e.g. a=0.9 b=0.1")
    weights.add_argument("weights", nargs="+", metavar="VARIANT=WEIGHT")
    back = commands.add_parser("rollback", parents=[common], help="stop a rollout, or go back to a variant or configuration")
    target = back.add_mutually_exclusive_group()
    target.add_argument("--to-config", help="endpoint configuration to redeploy (one-variant endpoints)")
    target.add_argument("--to-variant", help="variant to send all traffic to (several-variant endpoints)")
    back.add_argument("--reason", default="manual rollback (components.operations.sagemaker)", help="recorded on the alarm")
    return parser


def main(argv: Sequence[str] | None = None, clients: Clients | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        clients = clients or _clients(args.region)
        if args.command == "status":
            state = endpoint_state(clients, args.endpoint)
            print(json.dumps(state.as_dict(), indent=2, default=str) if args.json else "\n".join(state.lines()))
        elif args.command == "shift":
            state = shift(clients, args.endpoint, _weights(args.weights))
            print("\n".join(state.lines()))
        else:
            done = rollback(clients, args.endpoint, to_config=args.to_config, to_variant=args.to_variant, reason=args.reason)
            print(done.message)
            print("\n".join(done.state.lines()))
            print("Now set the stack file to match (canary traffic_percent: 0), or the next `pulumi up` deploys the candidate again.")
    except OperationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _clients(region: str | None) -> Clients:
    try:
        return Clients.for_region(region)
    except BotoCoreError as error:
        raise OperationError(str(error)) from None


if __name__ == "__main__":
    sys.exit(main())
