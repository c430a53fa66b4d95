"""`python -m components.planning simulate --stack dev` (what `make simulate` runs).

Prints, for every model of the stack, the capacity plan and the comparison of its autoscaling
policy with common defaults and the oracle on one trace, then the stack's monthly cost, and
writes build/<stack>/simulation.png.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from components.intent.loading import SpecError, parse_stack_config
from components.planning.capacity import DEFAULT_WORKLOAD, TritonProfile, Workload
from components.planning.compare import compare, default_trace, setup
from components.planning.cost import stack_cost
from components.planning.report import comparison_table, cost_table
from components.planning.traces import SIMULATE_MAX_ARRIVALS, TraceError, from_csv
from components.preview.stackfile import read_stack_file, stack_name

ROOT = Path(__file__).resolve().parents[2]


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make simulate", description=__doc__.split("\n\n")[1])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("simulate", help="replay a trace against every model's autoscaling")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--stack", default="dev", help="stack name: reads stacks/Pulumi.<stack>.yaml (default dev)")
    source.add_argument("--stack-file", type=Path, help="any stack file")
    run.add_argument("--trace", default="bursty", help="bursty (default), diurnal, steady, or a CSV file "
                     "(timestamp_s,prompt_tokens,output_tokens or BurstGPT's columns)")
    run.add_argument("--duration", type=_positive, default=3600.0, help="seconds of generated trace (default 3600)")
    run.add_argument("--seed", type=int, default=0, help="seed of the generated trace (default 0)")
    run.add_argument("--model", action="append", help="only these models (repeatable)")
    run.add_argument("--cold-start-scale", type=_positive, default=1.0,
                     help="multiply node provisioning, image pull, weight load and engine start (default 1)")
    run.add_argument("--prompt-tokens", type=int, default=DEFAULT_WORKLOAD.prompt_tokens)
    run.add_argument("--output-tokens", type=int, default=DEFAULT_WORKLOAD.output_tokens)
    run.add_argument("--triton-ms", type=_positive, nargs=2, metavar=("BASE", "PER_ITEM"),
                     help="Triton batch latency: base ms and ms per item (default 4 0.5, an assumption)")
    run.add_argument("--out", type=Path, default=ROOT / "build", help="output root (default build/)")
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
    if args.trace not in ("bursty", "diurnal", "steady"):
        try:
            recorded = from_csv(Path(args.trace), SIMULATE_MAX_ARRIVALS)
        except TraceError as error:
            print(error, file=sys.stderr)
            return 2
    comparisons = []
    for model in models:
        model_setup = setup(spec, model, workload, triton, args.cold_start_scale)
        trace = recorded or default_trace(model_setup, args.trace, args.duration, args.seed, SIMULATE_MAX_ARRIVALS)
        comparison = compare(model_setup, trace)
        comparisons.append(comparison)
        print(comparison_table(comparison))
        print()
    print(cost_table(stack_cost(spec)))
    name = stack_name(stack_file)
    if comparisons:
        from components.planning.plot import write_plot

        path = write_plot(comparisons, args.out / name / "simulation.png", f"stack {name}: autoscaling on the same trace")
        print(f"\nWrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
