"""Export a SageMaker endpoint's traffic from CloudWatch as the planner's rate export CSV.

`python -m components.planning.cloudwatch_export --stack sagemaker-prod --model llama-8b
--start 2026-11-23T00:00:00Z --end 2026-11-30T00:00:00Z --out traffic/llama-8b.csv` reads the
endpoint variant's `Invocations` (AWS/SageMaker, Sum per period) with GetMetricData and
writes `timestamp_s,requests`: what `traffic.csv`, `TRACE=` and `make tune` read
(recorded.py). CloudWatch has no token counts, so the planner assumes the default request
shape for it and says so; periods without invocations have no datapoint and are read as
none. Uses the usual AWS credential chain, read-only (cloudwatch:GetMetricData).
"""
from __future__ import annotations

import argparse
import csv
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from components.compilers import sagemaker as sm
from components.intent.loading import SpecError, parse_stack_config
from components.planning.prometheus_export import ExportError, iso_utc, parse_instant
from components.planning.recorded import MAX_SPAN_S
from components.preview.stackfile import read_stack_file, stack_name

ROOT = Path(__file__).resolve().parents[2]


def invocations(client: Any, endpoint: str, start: float, end: float, period_s: int) -> dict[float, float]:
    """Invocations per period by Unix time (periods without any are absent), every page."""
    query = {
        "Id": "invocations",
        "MetricStat": {
            "Metric": {"Namespace": "AWS/SageMaker", "MetricName": "Invocations", "Dimensions": sm.variant_dimensions(endpoint)},
            "Period": period_s,
            "Stat": "Sum",
        },
    }
    counts: dict[float, float] = {}
    request: dict[str, Any] = {
        "MetricDataQueries": [query],
        "StartTime": datetime.fromtimestamp(start, timezone.utc),
        "EndTime": datetime.fromtimestamp(end, timezone.utc),
        "ScanBy": "TimestampAscending",
    }
    while True:
        answer = client.get_metric_data(**request)
        for result in answer.get("MetricDataResults", []):
            for moment, value in zip(result.get("Timestamps", []), result.get("Values", [])):
                counts[moment.timestamp()] = counts.get(moment.timestamp(), 0.0) + float(value)
        token = answer.get("NextToken")
        if not token:
            return counts
        request["NextToken"] = token


def export(client: Any, endpoint: str, start: float, end: float, period_s: int, out: Path) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        counts = invocations(client, endpoint, start, end, period_s)
    except ClientError as error:
        raise ExportError(f"CloudWatch refused GetMetricData for {endpoint}: {error.response['Error'].get('Message', error)}") from None
    except BotoCoreError as error:
        raise ExportError(f"cannot read CloudWatch ({error}): check the AWS credentials and region") from None
    if not counts:
        raise ExportError(f"no Invocations of {endpoint} between {iso_utc(start)} and {iso_utc(end)} (AWS/SageMaker, "
                          f"VariantName {sm.VARIANT})")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["timestamp_s", "requests"])
            for moment in sorted(counts):
                # A CloudWatch period is stamped with its start, as the planner reads a row.
                writer.writerow([f"{moment:.0f}", f"{counts[moment]:.6g}"])
    except OSError as error:
        raise ExportError(f"{out}: cannot write the export ({error.strerror})") from None
    return len(counts)


def main(argv: list[str] | None = None, client: Any = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.planning.cloudwatch_export", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--stack", default="sagemaker-dev", help="stack name: reads stacks/Pulumi.<stack>.yaml")
    source.add_argument("--stack-file", type=Path, help="any stack file")
    parser.add_argument("--model", required=True, help="the stack file's model name")
    parser.add_argument("--start", type=parse_instant, required=True, help="ISO 8601, e.g. 2026-11-23T00:00:00Z")
    parser.add_argument("--end", type=parse_instant, required=True, help="ISO 8601")
    parser.add_argument("--period", type=int, default=60, help="seconds per row: 60 or a multiple of it (default 60)")
    parser.add_argument("--region", help="AWS region (default: the stack's)")
    parser.add_argument("--out", type=Path, required=True, help="the CSV to write")
    args = parser.parse_args(argv)

    problems = []
    if args.period < 60 or args.period % 60:
        problems.append(f"--period must be 60 seconds or a multiple of 60 (SageMaker's metrics are per minute), got {args.period}")
    if args.end <= args.start:
        problems.append(f"--end ({iso_utc(args.end)}) must be after --start ({iso_utc(args.start)})")
    elif args.end - args.start > MAX_SPAN_S:
        problems.append(f"--start to --end spans {(args.end - args.start) / 86_400:.1f} days; the planner replays at most "
                        f"{MAX_SPAN_S / 86_400:g}")
    stack_file = args.stack_file or ROOT / "stacks" / f"Pulumi.{args.stack}.yaml"
    try:
        spec = parse_stack_config(read_stack_file(stack_file, str(stack_file)), str(stack_file))
    except SpecError as error:
        print(error, file=sys.stderr)
        return 2
    model = next((m for m in spec.models if m.name == args.model), None)
    if model is None:
        problems.append(f"{stack_file}: no model named {args.model}; models: {', '.join(m.name for m in spec.models)}")
    elif spec.target != "sagemaker":
        problems.append(f"{stack_file}: an EKS stack's traffic is in Prometheus; use make export-traffic")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    assert model is not None
    # The program names endpoints after the stack (__main__.py name_prefix).
    endpoint = sm.endpoint_name(f"ml-serving-{stack_name(stack_file)}", model)
    if client is None:
        import boto3

        client = boto3.client("cloudwatch", region_name=args.region or spec.region)
    try:
        rows = export(client, endpoint, args.start, args.end, args.period, args.out)
    except ExportError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"Wrote {rows} periods of {endpoint}'s invocations to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
