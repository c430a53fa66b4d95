"""`python -m components.planning simulate|tune --stack dev` (`make simulate`, `make tune`).

simulate: for every model of the stack, the capacity plan and the comparison of its
autoscaling policy with common defaults and the oracle on one trace, the tuner's
recommendation, then the stack's monthly cost; writes build/<stack>/simulation.json and
simulation.png. tune: the tuner's search only, printed as the stack-file lines to change
with the monthly cost difference; also writes simulation.json.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import get_args

from components.intent.loading import SpecError, parse_stack_config
from components.planning import results
from components.planning.calibration import ProfileError, load_profile_of
from components.planning.capacity import DEFAULT_WORKLOAD, TritonProfile, Workload
from components.planning.compare import (
    DEFAULT_TRACE,
    ModelSetup,
    compare,
    declared_setup,
    default_trace,
    setup,
    with_mix_ceiling,
)
from components.planning.cost import stack_cost
from components.planning.recorded import from_file
from components.planning.report import comparison_table, cost_table, tuning_table
from components.planning.traces import (
    Trace,
    TraceError,
    TraceKind,
    as_fluid,
    generated_duration,
    rescaled,
    reshuffled,
)
from components.planning.tuner import stack_file_lines, tune
from components.preview.stackfile import read_stack_file, stack_name

ROOT = Path(__file__).resolve().parents[2]
# The trace kinds the generators draw (traces.TraceKind); anything else is a CSV path.
GENERATED = get_args(TraceKind)
# The stress trace a policy must also hold on: the same traffic drawn with another seed.
STRESS_SEED_OFFSET = 1000


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _arguments(command: argparse.ArgumentParser) -> None:
    source = command.add_mutually_exclusive_group()
    source.add_argument("--stack", default="dev", help="stack name: reads stacks/Pulumi.<stack>.yaml (default dev)")
    source.add_argument("--stack-file", type=Path, help="any stack file")
    command.add_argument("--trace", help="bursty, diurnal, steady, business_hours, or a CSV file (timestamp_s,prompt_tokens,"
                         "output_tokens[,cached_tokens], BurstGPT's or the Azure LLM traces' columns, or a rate export: timestamp_s,"
                         "requests_per_s or requests per step) or a Mooncake .jsonl trace; default: each model's declared "
                         "traffic, else bursty")
    command.add_argument("--trace-peak", type=_positive, help="CSV traces: rescale so the busiest minute is this share "
                         "of what max_replicas serve at the SLO, measured on the trace's own request mix (below 1 thins, above 1 "
                         "adds jittered copies)")
    command.add_argument("--duration", type=_positive, help="seconds of generated trace (default: one real day for "
                         "diurnal and business_hours, 1800 otherwise, as the preview)")
    command.add_argument("--seed", type=int, default=DEFAULT_TRACE[2], help="seed of the generated trace (default 0)")
    command.add_argument("--model", action="append", help="only these models (repeatable)")
    command.add_argument("--cold-start-scale", type=_positive, default=1.0,
                         help="multiply node provisioning, image pull, weight load and engine start (default 1)")
    command.add_argument("--prompt-tokens", type=int, default=DEFAULT_WORKLOAD.prompt_tokens)
    command.add_argument("--output-tokens", type=int, default=DEFAULT_WORKLOAD.output_tokens)
    command.add_argument("--triton-ms", type=_positive, nargs=2, metavar=("BASE", "PER_ITEM"),
                         help="Triton batch latency: base ms and ms per item (default 4 0.5, an assumption)")
    command.add_argument("--profile", type=Path, help="a measured profile (JSON or YAML, components/planning/"
                         "profile_build.py) of one model: its step times, prefill speed and cold start replace the "
                         "assumptions; with one model per stack only that model's (--model)")
    command.add_argument("--out", type=Path, default=ROOT / "build", help="output root (default build/)")


def _traces(args: argparse.Namespace, model_setup: ModelSetup, recorded: Trace | None) -> tuple[Trace, Trace]:
    """The model's trace and its stress trace."""
    kind = args.trace or DEFAULT_TRACE[0]
    if recorded is not None:
        trace = as_fluid(recorded) if model_setup.service.runtime == "triton" else recorded
        if args.trace_peak is not None:
            trace = rescaled(trace, args.trace_peak * model_setup.ceiling_rps, args.seed)
        return trace, reshuffled(trace, args.seed + STRESS_SEED_OFFSET)
    duration = generated_duration(kind, args.duration)
    trace = default_trace(model_setup, kind, duration, args.seed)
    return trace, default_trace(model_setup, kind, duration, args.seed + STRESS_SEED_OFFSET)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.planning", description=__doc__.split("\n\n")[1])
    commands = parser.add_subparsers(dest="command", required=True)
    _arguments(commands.add_parser("simulate", help="replay a trace against every model's autoscaling"))
    _arguments(commands.add_parser("tune", help="search the cheapest policy meeting each model's SLO target"))
    args = parser.parse_args(argv)

    stack_file = args.stack_file or ROOT / "stacks" / f"Pulumi.{args.stack}.yaml"
    shown = str(stack_file)
    try:
        spec = parse_stack_config(read_stack_file(stack_file, shown), shown)
    except SpecError as error:
        print(error, file=sys.stderr)
        return 2
    models = [m for m in spec.models if not args.model or m.name in args.model]
    unknown = sorted(set(args.model or []) - {m.name for m in spec.models})
    if unknown:
        print(f"{shown}: no model named {', '.join(unknown)}; models: {', '.join(m.name for m in spec.models)}", file=sys.stderr)
        return 2
    workload = Workload(max(1, args.prompt_tokens), max(1, args.output_tokens))
    triton = TritonProfile(*args.triton_ms) if args.triton_ms else TritonProfile()
    recorded = None
    if args.trace is not None and args.trace not in GENERATED:
        try:
            recorded = from_file(Path(args.trace))
        except TraceError as error:
            print(error, file=sys.stderr)
            return 2
        # The recording's own request shape drives the plan (μ_SLO, slots, the oracle).
        workload = recorded.workload()
    elif args.trace_peak is not None:
        print(f"--trace-peak rescales CSV traces; {args.trace or 'the default trace'} is generated relative to the "
              "ceiling already", file=sys.stderr)
        return 2
    profile = None
    if args.profile is not None:
        try:
            profile = load_profile_of(args.profile, models, "among the models simulated")
        except ProfileError as error:
            print(error, file=sys.stderr)
            return 2
    name = stack_name(stack_file)
    comparisons, entries = [], {}
    for model in models:
        measured_profile = profile if profile is not None and profile.model == model.name else None
        if measured_profile is not None:
            print(f"{model.name}: measured profile {args.profile} replaces the assumed step times and cold start")
        found = None if args.trace is not None else declared_setup(
            spec, model, args.duration, args.seed, ROOT, args.cold_start_scale, measured_profile
        )
        if found is not None:
            model_setup, trace = found
            stress = reshuffled(trace, args.seed + STRESS_SEED_OFFSET)
        else:
            model_setup = setup(spec, model, workload, triton, args.cold_start_scale, measured_profile)
            if recorded is not None:
                model_setup = with_mix_ceiling(model_setup, recorded)
            trace, stress = _traces(args, model_setup, recorded)
        opens = f", opens {trace.opens_at()}" if trace.opens_at() else ""
        print(f"{model.name}: trace {trace.name}{opens}, seed {trace.seed if trace.seed is not None else 'none (recorded)'}; "
              f"stress trace {stress.name}", flush=True)
        if model_setup.mix is not None:
            print(f"{model.name}: {model_setup.mix.describe()}", flush=True)
            alone = model_setup.fleet(1)
            if alone is not None and model.autoscaling.max_replicas > 1:
                rate = (f"{alone.requests_per_s:.3g} req/s with {alone.inflight_per_replica:.3g} in flight "
                        f"({alone.latency_s:.3g} s in the system)" if alone.inflight_per_replica is not None
                        else f"under {model_setup.replica_rps:.3g} req/s (the lowest rate that missed the target)")
                print(f"{model.name}: one replica alone on this mix: {rate}, what the SageMaker-invocations default's "
                      "target and the tuner's concurrency targets read", flush=True)
        comparison = compare(model_setup, trace)
        feasible = comparison.bound.feasible
        tuning = tune(
            model_setup, [trace, stress], defaults=comparison.results[1:],
            oracle_gpu_hours=comparison.oracle.gpu_hours if feasible else None,
        )
        comparisons.append(comparison)
        entries[model.name] = results.model_json(comparison, tuning)
        if args.command == "simulate":
            print(comparison_table(comparison))
        print(tuning_table(tuning, comparison))
        print("\n".join(stack_file_lines(tuning, shown)))
        print(flush=True)
    path = results.write(args.out / name / "simulation.json", entries)
    print(f"Wrote {path}")
    if args.command == "simulate":
        print(cost_table(stack_cost(spec)))
        if comparisons:
            from components.planning.plot import write_plot

            plot = write_plot(comparisons, args.out / name / "simulation.png", f"stack {name}: autoscaling on the same trace")
            print(f"\nWrote {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
