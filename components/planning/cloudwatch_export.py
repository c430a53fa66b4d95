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

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from components.compilers import sagemaker as sm
from components.planning.export_cli import ExportError, chosen, finish, parser, write_csv
from components.planning.traces import iso_utc
from components.preview.stackfile import stack_name


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
    # A CloudWatch period is stamped with its start, as the planner reads a row.
    write_csv(out, ["timestamp_s", "requests"], ([f"{moment:.0f}", f"{counts[moment]:.6g}"] for moment in sorted(counts)))
    return len(counts)


def main(argv: list[str] | None = None, client: Any = None) -> int:
    command = parser("python -m components.planning.cloudwatch_export", __doc__.split("\n\n")[0], "sagemaker-dev")
    command.add_argument("--period", type=int, default=60, help="seconds per row: 60 or a multiple of it (default 60)")
    command.add_argument("--region", help="AWS region (default: the stack's)")
    args = command.parse_args(argv)

    problems = []
    if args.period < 60 or args.period % 60:
        problems.append(f"--period must be 60 seconds or a multiple of 60 (SageMaker's metrics are per minute), got {args.period}")
    found = chosen(args, "sagemaker", "an EKS stack's traffic is in Prometheus; use make export-traffic", problems)
    if found is None:
        print("\n".join(problems), file=sys.stderr)
        return 2
    # The program names endpoints after the stack (__main__.py name_prefix).
    endpoint = sm.endpoint_name(f"ml-serving-{stack_name(found.stack_file)}", found.model)
    if client is None:
        import boto3

        client = boto3.client("cloudwatch", region_name=args.region or found.spec.region)
    return finish(
        lambda: export(client, endpoint, args.start, args.end, args.period, args.out),
        lambda rows: f"Wrote {rows} periods of {endpoint}'s invocations to {args.out}",
    )


if __name__ == "__main__":
    sys.exit(main())
