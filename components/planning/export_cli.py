"""What the traffic exports (Prometheus, CloudWatch) share: their arguments, the checks on
them, and the model they export, each problem a line of one message; writing the file and
reporting how it went."""
from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

from components.intent.loading import SpecError, parse_stack_config
from components.intent.model import ModelSpec
from components.intent.stack import StackSpec
from components.planning.recorded import MAX_SPAN_S
from components.planning.traces import iso_utc
from components.preview.stackfile import read_stack_file

ROOT = Path(__file__).resolve().parents[2]


class ExportError(Exception):
    """Why the export could not be written; the message says what to do."""


def parse_instant(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"write an ISO 8601 time such as 2026-11-30T00:00:00Z, got {text!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def parser(prog: str, description: str, default_stack: str) -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(prog=prog, description=description)
    source = command.add_mutually_exclusive_group()
    source.add_argument("--stack", default=default_stack, help=f"stack name: reads stacks/Pulumi.<stack>.yaml (default {default_stack})")
    source.add_argument("--stack-file", type=Path, help="any stack file")
    command.add_argument("--model", required=True, help="the stack file's model name")
    command.add_argument("--start", type=parse_instant, required=True, help="ISO 8601, e.g. 2026-11-23T00:00:00Z")
    command.add_argument("--end", type=parse_instant, required=True, help="ISO 8601")
    command.add_argument("--out", type=Path, required=True, help="the CSV to write")
    return command


@dataclass(frozen=True)
class Chosen:
    stack_file: Path
    spec: StackSpec
    model: ModelSpec


def chosen(args: argparse.Namespace, target: str, elsewhere: str, problems: list[str]) -> Chosen | None:
    """The stack and model to export, with the span's problems and the target's added to
    `problems`; None when anything is wrong. `elsewhere`: what to say to a stack of the other target."""
    if args.end <= args.start:
        problems.append(f"--end ({iso_utc(args.end)}) must be after --start ({iso_utc(args.start)})")
    elif args.end - args.start > MAX_SPAN_S:
        problems.append(f"--start to --end spans {(args.end - args.start) / 86_400:.1f} days; the planner replays at most "
                        f"{MAX_SPAN_S / 86_400:g}")
    stack_file = args.stack_file or ROOT / "stacks" / f"Pulumi.{args.stack}.yaml"
    try:
        spec = parse_stack_config(read_stack_file(stack_file, str(stack_file)), str(stack_file))
    except SpecError as error:
        problems.append(str(error))
        return None
    model = next((m for m in spec.models if m.name == args.model), None)
    if model is None:
        problems.append(f"{stack_file}: no model named {args.model}; models: {', '.join(m.name for m in spec.models)}")
    elif spec.target != target:
        problems.append(f"{stack_file}: {elsewhere}")
    if problems or model is None:
        return None
    return Chosen(stack_file, spec, model)


def write_csv(out: Path, header: list[str], rows: Iterable[list[str]]) -> None:
    """The export file, its folder made; an unwritable one is an ExportError."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    except OSError as error:
        raise ExportError(f"{out}: cannot write the export ({error.strerror})") from None


def finish(write: Callable[[], int], wrote: Callable[[int], str]) -> int:
    """Run an export: its error on stderr and exit code 2, or `wrote(rows)` and 0."""
    try:
        rows = write()
    except ExportError as error:
        print(error, file=sys.stderr)
        return 2
    print(wrote(rows))
    return 0
