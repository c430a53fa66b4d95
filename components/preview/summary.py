"""The readable part of the preview: what the stack creates, and each model in one line."""
from __future__ import annotations

from collections import Counter

from components.compilers import flagger
from components.intent.instances import catalog
from components.intent.model import ModelSpec
from components.intent.stack import StackSpec, canary_replicas
from components.planning.canary_model import CanaryPlan, describe
from components.preview.engine import Recording


def _canary(model: ModelSpec, target: str) -> str:
    c = model.canary
    if c is None:
        return "none"
    gates = ", ".join(g.metric for g in c.gates)
    if target == "sagemaker":
        # SageMaker walks the steps itself during one blue/green update.
        state = "held back (stable serves)" if c.traffic_percent == 0 else "rolling out by blue/green update"
        return f"{c.version} {state}, shifts {c.steps}, rollback alarms on: {gates}"
    if model.automated_rollout:
        return f"{c.version} driven by Flagger, steps {c.steps}, up to {canary_replicas(model)} replica(s), gates: {gates}"
    state = "rolled back / dark" if c.traffic_percent == 0 else f"{c.traffic_percent}% of requests"
    return f"{c.version} at {state}, steps {c.steps}, up to {canary_replicas(model)} replica(s), gates: {gates}"


def rollout_line(model: ModelSpec, target: str = "eks") -> str:
    """How a model's next version reaches its users: the rollout's state machine in one line."""
    c = model.canary
    if target == "sagemaker":
        return ("SageMaker blue/green: stable -> canary step -> bake -> all traffic; any rollback alarm -> stable"
                + ("" if c is None else f"; {c.version} {'held back' if c.traffic_percent == 0 else 'in flight'}"))
    if model.automated_rollout:
        steps, interval, _ = flagger.plan(model)
        line = describe(CanaryPlan(tuple(steps), flagger.FAILED_CHECKS_TO_ROLLBACK, interval, presence_hooks=True))
        return line + ("; no candidate (SLO gates guard any other version change)" if c is None else f"; {c.version} in flight")
    if c is None:
        return "manual: no candidate"
    return (f"manual: the stack file sets the step (now {c.traffic_percent}%); a breached gate pages "
            f"({'rollback_on_breach' if c.rollback_on_breach else 'no rollback label'}), a person sets 0")


def experiment_line(model: ModelSpec) -> str:
    """A/B arms and shadow of a model, in one line."""
    parts = []
    e = model.experiment
    if e is not None:
        arms = ", ".join(f"{v.name}={v.version} by {v.match.kind} {v.match.name}: {v.match.value}" for v in e.variants)
        sticky = f"; sticky {e.sticky_ttl_s}s" if e.sticky else ""
        parts.append(f"A/B {e.name}: {arms}; others take the default route{sticky}")
    if model.shadow is not None:
        parts.append(f"shadow {model.shadow.version} mirrors {model.shadow.mirror_percent}% (answers discarded)")
    return "; ".join(parts) or "none"


def model_line(model: ModelSpec, target: str = "eks") -> dict[str, str]:
    itype = catalog().instances[model.instance_type]
    policy = model.autoscaling
    replicas = f"{policy.min_replicas}-{policy.max_replicas}" if policy.min_replicas != policy.max_replicas else str(policy.min_replicas)
    if policy.scale_to_zero:
        replicas += f", 0 after {policy.idle_timeout_s}s idle"
    if policy.warm_pool:
        replicas += f", +{policy.warm_pool} warm"
    if policy.min_replicas == policy.max_replicas and not policy.scale_to_zero:
        scaling = "fixed"
    else:
        signal = (
            f"waiting/{policy.combined.queue_per_replica:g} + running/{policy.combined.running_per_replica:g} > 1/replica"
            if policy.combined is not None
            else f"{policy.signal} > {policy.target:g}/replica"
        )
        scaling = f"{signal} (up {policy.scale_up_window_s}s, down {policy.scale_down_window_s}s)"
        if policy.schedule is not None:
            windows = ", ".join(f"{w.start}-{w.end}{w.days_shown()} ≥{w.min_replicas}" for w in policy.schedule.windows)
            scaling += f"; floors {windows} {policy.schedule.timezone}"
    canary = _canary(model, target)
    return {
        "model": f"{model.name} ({model.version})",
        "runtime": model.runtime,
        "gpus": f"{model.gpus}x {itype.gpu} on {model.instance_type}",
        "replicas": replicas,
        "autoscaling": scaling,
        "canary": canary,
    }


def render(spec: StackSpec, recording: Recording, stack_file: str, sections: list[str] | None = None) -> str:
    custom = [r for r in recording.resources if r.custom]
    lines = [
        f"# Offline preview of stack `{recording.stack}`",
        "",
        f"- stack file: `{stack_file}`",
        f"- environment: {spec.environment}, target: {spec.target}, region: {spec.region}",
        f"- {len(custom)} resources in {len(recording.resources) - len(custom)} components "
        "(computed IDs, ARNs and digests are preview placeholders)",
        "",
        "## Models",
        "",
        "| model | runtime | GPUs per replica | replicas | autoscaling | canary |",
        "|---|---|---|---|---|---|",
    ]
    for model in spec.models:
        row = model_line(model, spec.target)
        lines.append("| " + " | ".join(row[k] for k in ("model", "runtime", "gpus", "replicas", "autoscaling", "canary")) + " |")
    if not spec.models:
        lines.append("| (no models) | | | | | |")
    lines += ["", "## Rollouts and experiments", ""]
    for model in spec.models:
        lines.append(f"- {model.name} rollout: {rollout_line(model, spec.target)}")
        lines.append(f"- {model.name} experiment: {experiment_line(model)}")
    lines += ["", "## Resources by type", "", "| type | count |", "|---|---|"]
    for typ, count in sorted(Counter(r.type for r in custom).items()):
        lines.append(f"| `{typ}` | {count} |")
    for section in sections or []:
        lines += ["", section.rstrip()]
    return "\n".join(lines) + "\n"
