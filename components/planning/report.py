"""Words and numbers out of the planner, the cost estimate and the simulator: the comparison
table `make simulate` prints, the preview's planning section and cost.json."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.intent.instances import catalog
from components.intent.model import ModelSpec
from components.intent.profile import Profile
from components.intent.stack import StackSpec
from components.planning.capacity import rank_instances
from components.planning.compare import (
    DEFAULT_TRACE,
    Comparison,
    ModelSetup,
    declared_setup,
    default_trace,
    foresight,
    setup,
    simulate,
)
from components.planning.controllers import stack_policy_on
from components.planning.cost import StackCost, stack_cost
from components.planning.oracle import OracleResult, attainment_target
from components.planning.simulator import Result, slo_summary
from components.planning.traces import Trace, TraceError
from components.planning.tuner import MATCH_COST_CAP, Tuning, tune

# The preview and `make simulate` replay the same default trace (compare.DEFAULT_TRACE), so
# they report the same numbers for the same model.
PREVIEW_TRACE, PREVIEW_DURATION_S, PREVIEW_SEED = DEFAULT_TRACE
# Declared CSV traces are paths relative to the repository root.
ROOT = Path(__file__).resolve().parents[2]
# Models the preview runs the quick tuner for (the others are pointed at `make tune`).
PREVIEW_TUNE_LIMIT = 10


def seconds(value: float) -> str:
    if math.isinf(value):
        return "timeout"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.1f} s"


def money(value: float) -> str:
    return f"${value:,.0f}" if value >= 100 else f"${value:,.2f}"


def fits_text(model: ModelSpec) -> str:
    """Why the model fits its GPUs, in numbers (validation already rejected any that do not)."""
    itype = catalog().instances[model.instance_type]
    plan = model.memory_plan()
    if plan is not None:
        return (
            f"yes: {plan.weights_gib_per_gpu:.1f} GiB weights + {plan.kv_gib_per_gpu:.1f} GiB KV per {itype.gpu}, "
            f"{plan.kv_tokens:,} tokens ({plan.sequences_at(plan.max_model_len)} at max_model_len)"
        )
    assert model.triton is not None
    instances = sum(g.count for g in model.triton.instance_groups if g.kind == "KIND_GPU")
    memory = catalog().gpus[itype.gpu].memory_mib
    return f"yes: {instances} x {model.triton.gpu_memory_mib_per_instance:,} MiB of {memory:,} MiB per {itype.gpu}"


@dataclass(frozen=True)
class PreviewModel:
    model: ModelSpec
    setup: ModelSetup
    trace: Trace
    stack: Result
    bound: OracleResult

    @property
    def oracle(self) -> Result:
        return self.bound.result


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def _signed_money(value: float) -> str:
    return ("+" if value >= 0 else "-") + money(abs(value))


def preview_runs(spec: StackSpec, notes: list[str] | None = None, profile: Profile | None = None) -> list[PreviewModel]:
    """The stack's own policy and the oracle for every model, on its declared traffic or the
    default trace. Problems with a declared trace file are added to `notes`. `profile`: one
    model's measured profile (PROFILE=), applied to that model only."""
    notes = [] if notes is None else notes
    runs = []
    for model in spec.models:
        measured = profile if profile is not None and profile.model == model.name else None
        try:
            found = declared_setup(spec, model, None, PREVIEW_SEED, ROOT, profile=measured, open_day_only=True)
        except TraceError as error:
            # The stack file is valid; its trace file is not: say so and replay the default.
            notes.append(f"- {model.name}: traffic.csv not replayed: {error}")
            found = None
        if found is not None:
            model_setup, trace = found
        else:
            model_setup = setup(spec, model, profile=measured)
            trace = default_trace(model_setup, PREVIEW_TRACE, PREVIEW_DURATION_S, PREVIEW_SEED)
        policy = model.autoscaling
        result = simulate(model_setup, stack_policy_on(policy, spec.target, trace), trace)
        bound = foresight(model_setup, trace)
        runs.append(PreviewModel(model, model_setup, trace, result, bound))
    return runs


def preview_section(spec: StackSpec, profile: Profile | None = None) -> tuple[str, dict[str, Any]]:
    """The preview summary's planning section (markdown) and the content of cost.json."""
    cost = stack_cost(spec)
    trace_notes: list[str] = []
    if profile is not None:
        trace_notes.append(f"- {profile.model}: measured profile (PROFILE=) in place of the assumed step times, "
                           "prefill speed and cold start")
    runs = preview_runs(spec, trace_notes, profile)
    lines = [
        "## Capacity, cost and SLO (planned and simulated)",
        "",
        "- monthly cost, idle (models at their floor, and everything that never scales to zero): "
        f"**{money(cost.idle.total_usd)}**; busy (every model at max replicas): **{money(cost.busy.total_usd)}**. "
        "Every line and its price source: `cost.json`.",
    ]
    for note in cost.notes:
        lines.append(f"- {note}")
    lines += trace_notes
    lines += [
        f"- SLO attainment: the stack's autoscaling replayed on the model's declared `traffic`, else a "
        f"{PREVIEW_DURATION_S / 60:.0f}-minute {PREVIEW_TRACE} trace (base load 30 % of what max replicas serve at "
        "the SLO, bursts to 90 %); the oracle has perfect "
        "foresight and no cold start and is the cheapest schedule it finds that meets the SLO for 99 % of "
        f"requests (seed {PREVIEW_SEED}, the trace `make simulate` replays by default). `make simulate` compares it "
        "with common defaults; `make tune` searches for a better policy.",
        "",
        "| model | fits | cost / month (idle - busy) | SLO attainment (oracle) |",
        "|---|---|---|---|",
    ]
    models_json: dict[str, Any] = {}
    for run in runs:
        model = run.model
        model_cost = cost.models[model.name]
        attainment = f"{run.stack.attainment:.1%} ({run.oracle.attainment:.1%}), TTFT p99 {seconds(run.stack.ttft_p99_s)}"
        if model.runtime == "triton":
            attainment = f"{run.stack.attainment:.1%} ({run.oracle.attainment:.1%}), latency p99 {seconds(run.stack.latency_p99_s)}"
        lines.append(
            f"| {model.name} | {fits_text(model)} | {money(model_cost.idle_usd)} - {money(model_cost.busy_usd)} | {attainment} |"
        )
        models_json[model.name] = _model_json(run)
    if not runs:
        lines.append("| (no models) | | | |")
    missing = [run for run in runs if run.stack.attainment < attainment_target(run.model.slo)]
    if missing:
        lines.append("")
    for position, run in enumerate(missing):
        target = attainment_target(run.model.slo)
        flag = (
            f"- **{run.model.name} misses its SLO**: {run.stack.attainment:.1%} of requests within it on this trace, "
            f"target {target:.0%}."
        )
        alone = run.bound.unservable
        if run.bound.infeasible_because == "slo" and alone is not None:
            # No policy reaches it; the tuner would only search for the least bad one.
            flag += (
                f" No autoscaling can: {alone.share:.1%} of requests miss it even alone on an idle replica "
                f"({alone.reason(run.model.slo)}). Change the objective, the instance type or the requests."
            )
            models_json[run.model.name]["simulated"]["unservable_share"] = round(alone.share, 4)
            lines.append(flag)
            continue
        if position < PREVIEW_TUNE_LIMIT:
            tuning = tune(run.setup, [run.trace], quick=True)
            changes = ", ".join(f"`{field}: {_value(new)}` (was {_value(old)})" for field, (old, new) in tuning.changes().items())
            if changes and tuning.best.meets:
                flag += (
                    f" The tuner suggests {changes}: {tuning.best.attainment:.1%} at "
                    f"{tuning.best.gpu_hours:.2f} GPU-h ({_signed_money(tuning.monthly_cost_delta_usd)} a month)."
                )
                models_json[run.model.name]["suggested_autoscaling"] = {
                    field: new for field, (_, new) in tuning.changes().items()
                }
            else:
                flag += " Changing the floor or the scale-in window alone does not meet it."
        flag += f" `make tune STACK=<stack> MODEL={run.model.name}` searches every signal, target and warm pool."
        lines.append(flag)
    data = cost.as_json()
    for name, extra in models_json.items():
        data["models"][name].update(extra)
    return "\n".join(lines) + "\n", data


def _model_json(run: PreviewModel) -> dict[str, Any]:
    plan = run.model.memory_plan()
    cap = run.setup.capacity
    fit: dict[str, Any] = {"fits": True}
    if plan is not None:
        fit.update(
            weights_gib_per_gpu=round(plan.weights_gib_per_gpu, 2),
            kv_cache_gib_per_gpu=round(plan.kv_gib_per_gpu, 2),
            kv_cache_tokens=plan.kv_tokens,
            sequences_at_max_model_len=plan.sequences_at(plan.max_model_len),
        )
    return {
        **fit,
        "capacity_requests_per_s_per_replica": round(cap.requests_per_s, 4),
        "capacity_meets_slo": cap.meets_slo,
        "simulated": {
            "trace": run.trace.name,
            "duration_s": run.trace.duration_s,
            "seed": PREVIEW_SEED,
            "slo": slo_summary(run.model.slo),
            "slo_attainment": round(run.stack.attainment, 4),
            "ttft_p99_s": None if math.isinf(run.stack.ttft_p99_s) else round(run.stack.ttft_p99_s, 3),
            "gpu_hours": round(run.stack.gpu_hours, 3),
            "cost_usd": round(run.stack.cost_usd, 2),
            "oracle_slo_attainment": round(run.oracle.attainment, 4),
            "oracle_gpu_hours": round(run.oracle.gpu_hours, 3),
        },
    }


def stack_cost_json(spec: StackSpec) -> dict[str, Any]:
    return stack_cost(spec).as_json()


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) if i == 0 else cell.rjust(width) for i, (cell, width) in enumerate(zip(cells, widths)))


def comparison_table(comparison: Comparison) -> str:
    """The text `make simulate` prints for one model."""
    s = comparison.setup
    model, cap, times = s.model, s.capacity, s.timings
    oracle = comparison.oracle
    itype = catalog().instances[model.instance_type]
    lines = [
        f"{model.name}: {model.runtime} on {model.instance_type} ({model.gpus}x {itype.gpu} per replica), "
        f"{model.autoscaling.min_replicas}-{model.autoscaling.max_replicas} replicas, SLO {slo_summary(model.slo)}",
    ]
    if model.runtime == "vllm":
        lines.append(
            f"  capacity: μ_SLO {cap.requests_per_s:.3g} req/s per replica (batch {cap.batch}, TPOT {seconds(cap.tpot_s)}, "
            f"TTFT {seconds(cap.ttft_s)}) for {s.workload.prompt_tokens}-token prompts and {s.workload.output_tokens}-token outputs"
            + ("" if cap.meets_slo else "; the SLO cannot be met even at batch 1")
        )
    else:
        lines.append(
            f"  capacity: μ_SLO {cap.requests_per_s:.4g} req/s per replica (assumed batch latency "
            f"{s.service.triton.base_ms:g} ms + {s.service.triton.per_item_ms:g} ms/item; measure with perf_analyzer)"
        )
    chain = (
        f"node {times.node_provision_s:.0f} s + image {times.image_pull_s:.0f} s"
        if s.target == "eks"
        else f"instance {times.node_provision_s:.0f} s + image {times.image_pull_s:.0f} s"
    )
    lines.append(
        f"  cold start: {chain} + weights {times.weight_load_s:.0f} s + engine {times.engine_init_s:.0f} s + "
        f"ready {times.readiness_s:.0f} s = {times.cold_s:.0f} s"
        + (
            f"; {times.on_served_node_s:.0f} s on a node that already ran it (node cache)"
            if times.on_served_node_s != times.on_warm_slot_s
            else ""
        )
    )
    trace = comparison.trace
    lines.append(f"  trace: {trace.name}, {trace.duration_s:.0f} s, {comparison.stack.requests:,} requests")
    header = ["policy", "goodput/s", "TTFT p50", "TTFT p99", "SLO met", "GPU-h", "cost", "GPU-h/oracle"]
    if model.runtime == "triton":
        header[2:4] = ["lat. p50", "lat. p99"]
    widths = [24, 10, 9, 9, 8, 7, 9, 12]
    lines.append("  " + _row(header, widths))
    for result in comparison.results + [oracle]:
        ratio = result.gpu_hours / oracle.gpu_hours if oracle.gpu_hours else math.nan
        lines.append(
            "  "
            + _row(
                [
                    result.policy,
                    f"{result.goodput_rps:.3g}",
                    seconds(result.ttft_p50_s),
                    seconds(result.ttft_p99_s),
                    f"{result.attainment:.1%}",
                    f"{result.gpu_hours:.2f}",
                    money(result.cost_usd),
                    f"{ratio:.2f}x",
                ],
                widths,
            )
        )
    lines.append("  " + _row(["fluid bound", "", "", "", "", f"{comparison.fluid_gpu_hours:.2f}", "", ""], widths))
    for result in comparison.results:
        lines.append(f"    {result.policy}: {result.description}")
    ranking, seen = [], set()
    for candidate in rank_instances(model, s.target, s.workload):
        # The best tensor-parallel degree of each instance type is enough here.
        if candidate.fits and candidate.instance_type not in seen and len(ranking) < 4:
            ranking.append(candidate)
            seen.add(candidate.instance_type)
    if ranking:
        cheapest = ", ".join(
            f"{c.instance_type} ({c.gpus} GPU{'s' if c.gpus > 1 else ''}) ${c.usd_per_million_tokens:.2f}"
            + ("" if c.meets_slo else " (misses the SLO)")
            for c in ranking
        )
        lines.append(f"  cheapest per million output tokens at the SLO: {cheapest}")
    return "\n".join(lines)


def cost_table(cost: StackCost) -> str:
    lines = [f"monthly cost: idle {money(cost.idle.total_usd)}, busy {money(cost.busy.total_usd)}"]
    for scenario, estimate in (("idle", cost.idle), ("busy", cost.busy)):
        lines.append(f"  {scenario}:")
        for item in estimate.items:
            monthly = item.monthly_usd
            shown = "unpriced" if monthly is None else money(monthly)
            lines.append(f"    {item.item:48s} {item.quantity:>8.4g} {item.unit:14s} {shown:>10s}  [{item.source}]")
    return "\n".join(lines)


def tuning_table(tuning: Tuning, comparison: Comparison) -> str:
    """The tuner's finding for one model, against the oracle of the model's trace."""
    oracle = comparison.bound
    best, current = tuning.best, tuning.current
    ratio = best.gpu_hours / oracle.result.gpu_hours if oracle.feasible and oracle.result.gpu_hours else math.nan
    lines = [
        f"  tuner ({tuning.evaluated} policies replayed on {len(best.results) or 1} trace(s); target "
        f"{best.target:.0%} of requests within the SLO):",
        f"    stack policy: {current.own_attainment:.1%} on this trace ({current.attainment:.1%} worst trace), "
        f"{current.gpu_hours:.2f} GPU-h",
        f"    recommended:  {best.own_attainment:.1%} on this trace ({best.attainment:.1%} worst trace), "
        f"{best.gpu_hours:.2f} GPU-h"
        + (f", {ratio:.2f}x the oracle" if not math.isnan(ratio) else "")
        + ("" if best.meets else "; no searched policy meets the target"),
    ]
    if oracle.feasible:
        lines.append(
            f"    oracle: {oracle.result.attainment:.1%} at {oracle.result.gpu_hours:.2f} GPU-h (peak {oracle.peak_replicas} "
            f"replicas); with the real cold start {oracle.with_cold_start_gpu_hours:.2f} GPU-h"
        )
        if best.meets and ratio > MATCH_COST_CAP:
            lines.append("    " + _gap_advice(comparison, oracle.with_cold_start_gpu_hours / oracle.result.gpu_hours))
        elif not best.meets and best.attainment < best.target <= best.own_attainment:
            worst = min(range(len(best.results)), key=lambda i: best.results[i].attainment)
            lines.append(
                f"    the stress trace is what fails: the best policy reaches {best.results[worst].attainment:.1%} there, "
                f"with floors up to max_replicas ({comparison.setup.model.autoscaling.max_replicas}) searched; "
                "a higher max_replicas, or an objective within reach, moves it"
            )
    elif oracle.infeasible_because == "slo" and oracle.unservable is not None:
        lines.append(
            f"    oracle: infeasible at any replica count: {oracle.unservable.share:.1%} of requests miss the SLO "
            f"even alone on an idle replica ({oracle.unservable.reason(comparison.setup.model.slo)}); "
            f"{oracle.result.attainment:.1%} at {oracle.peak_replicas} replicas the whole time. Change the "
            "objective, the instance type or the requests, not the autoscaling"
        )
    else:
        lines.append(
            f"    oracle: infeasible within max_replicas: {oracle.result.attainment:.1%} even at "
            f"{oracle.peak_replicas} replicas the whole time"
        )
    engine = comparison.setup.model.vllm
    if oracle.unservable is not None and oracle.unservable.refused and engine is not None:
        lines.append(
            f"    {oracle.unservable.refused:,.0f} requests have prompts of max_model_len ({engine.max_model_len:,}) tokens "
            "or more: vLLM refuses them, and every replay counts them as failed"
        )
    return "\n".join(lines)


def _gap_advice(comparison: Comparison, cold_ratio: float) -> str:
    """What the distance to the oracle is made of, for a recommendation past MATCH_COST_CAP."""
    cold_s = comparison.setup.timings.cold_s
    if cold_ratio > MATCH_COST_CAP:
        return (
            f"gap: the same foresight paying the real cold start needs {cold_ratio:.2f}x the oracle, so the "
            f"{cold_s:.0f} s cold chain is what costs: shorter starts (the pool's cold_start levers, a warm "
            "pool) close it, a policy cannot"
        )
    return (
        f"gap: foresight paying the real cold start needs only {cold_ratio:.2f}x the oracle, so the rest is a "
        "reactive policy a cold start behind swings foresight sees coming; where they follow the clock, a declared "
        "daily traffic shape lets the tuner raise scheduled floors ahead of them"
    )
