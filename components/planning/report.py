"""Words and numbers out of the planner, the cost estimate and the simulator: the comparison
table `make simulate` prints, the preview's planning section and cost.json."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from components.intent.instances import catalog
from components.intent.model import ModelSpec
from components.intent.stack import StackSpec
from components.planning.capacity import rank_instances
from components.planning.compare import Comparison, ModelSetup, default_trace, setup, simulate
from components.planning.cost import StackCost, stack_cost
from components.planning.controllers import Oracle, stack_policy
from components.planning.simulator import Result, slo_summary
from components.planning.traces import Trace

# The preview replays a short trace so `make synth` stays fast (docs/performance.md).
PREVIEW_TRACE = "bursty"
PREVIEW_DURATION_S = 1800.0
PREVIEW_SEED = 0
# Weighted arrivals make LLM batches lumpier and the results pessimistic (an 8x weight cost
# the prod oracle 10 points of attainment), so the preview keeps to traces.MAX_ARRIVALS
# and a short trace instead.
PREVIEW_MAX_ARRIVALS = 20_000


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
    oracle: Result


def preview_runs(spec: StackSpec) -> list[PreviewModel]:
    """The stack's own policy and the oracle for every model, on the short preview trace."""
    runs = []
    for model in spec.models:
        model_setup = setup(spec, model)
        trace = default_trace(model_setup, PREVIEW_TRACE, PREVIEW_DURATION_S, PREVIEW_SEED, PREVIEW_MAX_ARRIVALS)
        result = simulate(model_setup, stack_policy(model.autoscaling, spec.target), trace)
        oracle = simulate(model_setup, Oracle(trace.peak_per_bucket(60.0), model_setup.capacity.requests_per_s), trace, instant=True)
        runs.append(PreviewModel(model, model_setup, trace, result, oracle))
    return runs


def preview_section(spec: StackSpec) -> tuple[str, dict[str, Any]]:
    """The preview summary's planning section (markdown) and the content of cost.json."""
    cost = stack_cost(spec)
    runs = preview_runs(spec)
    lines = [
        "## Capacity, cost and SLO (planned and simulated)",
        "",
        "- monthly cost, idle (models at their floor, and everything that never scales to zero): "
        f"**{money(cost.idle.total_usd)}**; busy (every model at max replicas): **{money(cost.busy.total_usd)}**. "
        "Every line and its price source: `cost.json`.",
    ]
    for note in cost.notes:
        lines.append(f"- {note}")
    lines += [
        f"- SLO attainment: the stack's autoscaling replayed on a {PREVIEW_DURATION_S / 60:.0f}-minute {PREVIEW_TRACE} "
        "trace (base load 30 % of what max replicas serve at the SLO, bursts to 90 %); the oracle has perfect "
        "foresight and no cold start. `make simulate` compares it with common defaults.",
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
