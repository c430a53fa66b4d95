"""Benchmark of the planner and the simulator (`make bench`; not collected by pytest).

Prints markdown tables for docs/performance.md: one policy run and a full comparison per
model and trace length, a day at weight 1, a quiet fortnight replayed with and without idle
seconds skipped, and the preview's planning section for stacks of 1, 10 and 100 models.
"""
from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Iterator

from components.intent.loading import parse_stack_config
from components.planning.capacity import rank_instances
from components.planning.compare import compare, default_trace, setup, simulate
from components.planning.controllers import stack_policy
from components.planning.recorded import from_csv
from components.planning.report import preview_section
from components.planning.traces import SIMULATE_MAX_ARRIVALS, diurnal
from tests.benchmarks.common import ROOT, machine, stack_with_models, timed
from tests.conftest import parse, stack_config


def simulator_rows() -> Iterator[str]:
    cases = [("dev", "llama-8b"), ("prod", "llama-8b"), ("prod", "llama-70b"), ("prod", "sentiment")]
    for stack, name in cases:
        spec = parse(stack_config(stack))
        model = next(m for m in spec.models if m.name == name)
        model_setup = setup(spec, model)
        for kind, duration in (("bursty", 1800), ("bursty", 3600), ("diurnal", 86_400)):
            generate_s, _, trace = timed(
                lambda: default_trace(model_setup, kind, duration, 0, SIMULATE_MAX_ARRIVALS), repeat=1
            )
            one_s, _, result = timed(lambda: simulate(model_setup, stack_policy(model.autoscaling, spec.target), trace), 3)
            all_s, _, _ = timed(lambda: compare(model_setup, trace), 1)
            yield (
                f"| {stack}/{name} | {kind} {duration / 3600:g} h | {result.requests:,} (weight {trace.weight}) | "
                f"{generate_s:.2f} | {one_s:.2f} | {all_s:.2f} |"
            )


def day_rows() -> Iterator[str]:
    """A day of about a million requests written as a CSV, read back and replayed at weight 1
    with the prod llama-8b stack policy (issue 14: under 2 minutes on a 2-core machine)."""
    spec = parse(stack_config("prod"))
    model = next(m for m in spec.models if m.name == "llama-8b")
    model_setup = setup(spec, model)
    day = diurnal(0.1 * model_setup.ceiling_rps, 0.9 * model_setup.ceiling_rps, 86_400, seed=0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "day.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["timestamp_s", "prompt_tokens", "output_tokens"])
            writer.writerows(zip((f"{t:.3f}" for t in day.arrivals), day.prompts, day.outputs))
        read_s, _, trace = timed(lambda: from_csv(path), repeat=1)
    run_s, _, result = timed(lambda: simulate(model_setup, stack_policy(model.autoscaling, spec.target), trace), 1)
    yield (
        f"| prod/llama-8b | CSV day, {trace.requests:,} requests (weight {trace.weight}) | {read_s:.1f} | {run_s:.1f} | "
        f"{result.attainment:.1%} |"
    )


def sparse_rows() -> Iterator[str]:
    """Two weeks of a quiet endpoint (bursts of 1-12 requests an exponential half hour apart)
    replayed second by second and with idle seconds skipped (the default): the same results,
    and what the skip saves, per policy (dev llama-8b: its stack policy and the defaults)."""
    from components.planning.compare import opening_load
    from components.planning.controllers import baselines, stack_policy_on
    from components.planning.simulator import Simulation
    from tests.planning.helpers import sparse

    spec = parse(stack_config("dev"))
    model = next(m for m in spec.models if m.name == "llama-8b")
    model_setup = setup(spec, model)
    trace = sparse(14 * 86_400, seed=14)
    policy = model.autoscaling
    controllers = [lambda: stack_policy_on(policy, "eks", trace)] + [
        lambda i=i: baselines(policy, model_setup.capacity.requests_per_s)[i] for i in range(3)
    ]
    for make in controllers:
        times, results = [], []
        for skip in (False, True):
            simulation = Simulation(
                model, "eks", make(), trace, model_setup.service, model_setup.timings,
                model_setup.usd_per_replica_hour, model_setup.usd_per_node_hour, pool=model_setup.pool,
                node_gpus=model_setup.node_gpus, workload=model_setup.workload,
                opening=opening_load(model_setup, trace), skip_idle=skip,
            )
            seconds, _, result = timed(simulation.run, repeat=1)
            times.append(seconds)
            results.append(result)
        yield f"| {results[0].policy} | {times[0]:.1f} | {times[1]:.1f} | {'yes' if results[0] == results[1] else 'NO'} |"


def planner_rows() -> list[str]:
    spec = parse(stack_config("prod"))
    rows = []
    for model in spec.models:
        if model.vllm is None:
            continue
        median, _, ranking = timed(lambda: rank_instances(model, spec.target), 3)
        rows.append(f"| rank_instances({model.name}) | {len(ranking)} candidates | {median * 1000:.0f} ms |")
    return rows


def preview_rows() -> list[str]:
    rows = []
    for count in (1, 10, 100):
        spec = parse_stack_config(stack_with_models(count)["config"], f"bench-{count}")
        median, best, _ = timed(lambda: preview_section(spec), 3 if count < 100 else 1)
        rows.append(f"| {count} | {median:.2f} | {median / count * 1000:.0f} |")
    return rows


def main() -> None:
    print(f"# Simulator benchmark ({machine()}; repository {ROOT.name})\n")
    print("| model | trace | requests | generate (s) | stack policy run (s, median of 3) | 4 policies + oracle (s) |")
    print("|---|---|---|---|---|---|")
    for row in simulator_rows():
        print(row, flush=True)
    print("\n| model | trace | read CSV (s) | stack policy run (s) | attainment |\n|---|---|---|---|---|")
    for row in day_rows():
        print(row, flush=True)
    print("\nA quiet fortnight, dev llama-8b (tests.planning.helpers.sparse, 14 days, seed 14):\n")
    print("| policy | second by second (s) | idle skipped (s) | same result |\n|---|---|---|---|")
    for row in sparse_rows():
        print(row, flush=True)
    print("\n| planner call | result | time (median of 3) |\n|---|---|---|")
    for row in planner_rows():
        print(row, flush=True)
    print("\n| models in the stack | preview planning section (s) | per model (ms) |\n|---|---|---|")
    for row in preview_rows():
        print(row, flush=True)


if __name__ == "__main__":
    main()
