"""Export a served model's traffic from Prometheus as the planner's rate export CSV.

`python -m components.planning.prometheus_export --stack prod --model llama-8b --start
2026-11-23T00:00:00Z --end 2026-11-30T00:00:00Z --out traffic/llama-8b.csv` queries
/api/v1/query_range for the model's requests per second and (vLLM) mean prompt and output
tokens, all its versions together, and writes `timestamp_s,requests_per_s,prompt_tokens,
output_tokens`: what `traffic.csv`, `TRACE=` and `make tune` read (recorded.py). Reach the
cluster's Prometheus first, e.g. `kubectl -n monitoring port-forward svc/prometheus-operated
9090` (the default --prometheus URL).
"""
from __future__ import annotations

import http.client
import json
import math
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from components.compilers import metrics
from components.compilers.rollout import served_versions
from components.compilers.serving import MODELS_NAMESPACE
from components.intent.model import ModelSpec
from components.planning.export_cli import ExportError, chosen, finish, parser, write_csv
from components.planning.traces import iso_utc

DEFAULT_PROMETHEUS = "http://localhost:9090"
# Prometheus refuses a range query of more than 11,000 points per series.
MAX_POINTS = 10_000
TIMEOUT_S = 60


def model_selector(model: ModelSpec) -> str:
    """Every version that serves the model's own requests: the label our PodMonitors copy from
    the pod (Triton's series carry no model_name), shadows left out (they see mirrored copies)."""
    selector = f'namespace="{MODELS_NAMESPACE}",ml_serving_model="{model.name}"'
    shadows = sorted(v.version for v in served_versions(model) if v.role == "shadow")
    if shadows:
        selector += f',ml_serving_version!~"{"|".join(shadows)}"'
    return selector


def rate_window_s(step_s: int) -> int:
    """The rate() window: one step, at least a minute (four of our 15 s scrapes)."""
    return max(60, step_s)


def query_range(base_url: str, query: str, start: float, end: float, step_s: int) -> dict[float, float]:
    """One expression's values by Unix time, in chunks Prometheus accepts; a time without a
    value (no requests: a 0/0 mean) is absent."""
    values: dict[float, float] = {}
    chunk = MAX_POINTS * step_s
    begin = start
    while begin <= end:
        stop = min(end, begin + chunk - step_s)
        parameters = urllib.parse.urlencode({"query": query, "start": f"{begin:.3f}", "end": f"{stop:.3f}", "step": f"{step_s}s"})
        url = f"{base_url.rstrip('/')}/api/v1/query_range?{parameters}"
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310 - an operator-given http(s) URL
                body = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            raise ExportError(f"{base_url}: Prometheus answered {error.code} to {query!r}: {_prometheus_error(error)}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ExportError(
                f"{base_url}: cannot reach Prometheus ({reason}); port-forward it first: kubectl -n monitoring "
                "port-forward svc/prometheus-operated 9090"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError, http.client.HTTPException):
            raise ExportError(f"{base_url}: the answer to {query!r} is not Prometheus's JSON: is this its URL?") from None
        values.update(_values(base_url, query, body))
        begin = stop + step_s
    return values


def _values(base_url: str, query: str, body: object) -> dict[float, float]:
    """A query_range answer's points (one series: every query is a sum)."""
    if not isinstance(body, dict) or body.get("status") != "success":
        detail = body.get("error", body) if isinstance(body, dict) else body
        raise ExportError(f"{base_url}: Prometheus refused {query!r}: {detail}")
    data = body.get("data")
    series = data.get("result") if isinstance(data, dict) else None
    if not isinstance(series, list):
        raise ExportError(f"{base_url}: the answer to {query!r} has no data.result: is this Prometheus's URL?")
    values: dict[float, float] = {}
    try:
        for one in series:
            for moment, text in one.get("values", []):
                value = float(text)
                if math.isfinite(value):
                    values[float(moment)] = value
    except (AttributeError, TypeError, ValueError):
        raise ExportError(f"{base_url}: the answer to {query!r} is not a range of values: is this Prometheus's URL?") from None
    return values


def _prometheus_error(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read().decode("utf-8")).get("error", error.reason))
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, OSError, http.client.HTTPException):
        return str(error.reason)


def export(base_url: str, model: ModelSpec, start: float, end: float, step_s: int, out: Path) -> int:
    """Write the model's traffic between `start` and `end` (Unix seconds); returns the rows."""
    columns = metrics.traffic(model.runtime, model_selector(model), f"{rate_window_s(step_s)}s")
    series = {name: query_range(base_url, query, start, end, step_s) for name, query in columns.items()}
    moments = sorted(series["requests_per_s"])
    if not moments:
        raise ExportError(
            f"{base_url}: no requests of {model.name} between {iso_utc(start)} and {iso_utc(end)} "
            f"(query: {columns['requests_per_s']})"
        )
    means = list(columns)[1:]
    # A point at t is the rate over the window before t; the planner reads a row as the step
    # after its time, so the row is written one step earlier.
    rows = (
        [f"{moment - step_s:.0f}", f"{series['requests_per_s'][moment]:.6g}",
         *(f"{series[name][moment]:.6g}" if moment in series[name] else "" for name in means)]
        for moment in moments
    )
    write_csv(out, ["timestamp_s", *columns], rows)
    return len(moments)


def main(argv: list[str] | None = None) -> int:
    command = parser("python -m components.planning.prometheus_export", __doc__.split("\n\n")[0], "dev")
    command.add_argument("--step", type=int, default=60, help="seconds between rows (default 60)")
    command.add_argument("--prometheus", default=DEFAULT_PROMETHEUS, help=f"base URL (default {DEFAULT_PROMETHEUS})")
    args = command.parse_args(argv)

    problems = []
    if args.step < 1:
        problems.append(f"--step must be at least 1 second, got {args.step}")
    if not args.prometheus.startswith(("http://", "https://")):
        problems.append(f"--prometheus must be an http:// or https:// URL, got {args.prometheus!r}")
    found = chosen(args, "eks", "a SageMaker stack's traffic is in CloudWatch, not Prometheus; use make "
                   "export-invocations", problems)
    if found is None:
        print("\n".join(problems), file=sys.stderr)
        return 2
    return finish(
        lambda: export(args.prometheus, found.model, args.start, args.end, args.step, args.out),
        lambda rows: f"Wrote {rows} rows of {found.model.name}'s traffic to {args.out}",
    )


if __name__ == "__main__":
    sys.exit(main())
