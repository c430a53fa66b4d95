"""Turn a load test's results into a profile (docs/performance.md, "Calibrating from a deploy").

    python -m components.planning.profile_build --stack prod --model llama-8b \\
        --results loadtest.log [--events events.json --pod <pod>] [--pod-status pod.json] --out profile.yaml

--results: `kubectl logs job/loadtest-<model>` of the Job `make loadtest` renders (its lines
`LOADTEST-RESULT <json>`, one per concurrency), or `vllm bench serve --save-result` JSON files,
or perf_analyzer's `-f` CSV (Triton). --events: `kubectl get events -n models -o json`; the
stages of one cold start of --pod are read from them (FailedScheduling/TriggeredScaleUp to
Scheduled: the node; Pulling to Pulled: the serving image; Started to Ready: weights and
engine start, Ready from --pod-status, `kubectl get pod -o json`, as no event marks it).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pydantic
import yaml

from components.intent.loading import SpecError, parse_stack_config
from components.intent.model import ModelSpec
from components.intent.profile import Profile
from components.planning.calibration import ProfileError, parse_profile
from components.preview.stackfile import read_stack_file

ROOT = Path(__file__).resolve().parents[2]
RESULT_MARKER = "LOADTEST-RESULT "
CSV_MARKER = "LOADTEST-CSV "
SERVING_CONTAINER = "kserve-container"
# perf_analyzer's CSV latencies are microseconds.
US_PER_MS = 1000.0


class ResultsError(ValueError):
    """Results that cannot be read; the message names the file and what is wrong."""


def _vllm_point(result: dict[str, Any], source: str) -> dict[str, Any]:
    try:
        concurrency = result["max_concurrency"]
        point = {
            "concurrency": int(concurrency),
            "requests": int(result["completed"]),
            "request_throughput": float(result["request_throughput"]),
            "output_throughput": float(result["output_throughput"]),
            "ttft": {"mean_ms": float(result["mean_ttft_ms"]), "p50_ms": float(result["median_ttft_ms"])},
            "tpot": {"mean_ms": float(result["mean_tpot_ms"]), "p50_ms": float(result["median_tpot_ms"])},
        }
    except (KeyError, TypeError, ValueError) as error:
        raise ResultsError(f"{source}: not a vllm bench serve result with --max-concurrency "
                           f"({error.__class__.__name__}: {error})") from None
    for metric in ("ttft", "tpot"):
        if f"p99_{metric}_ms" in result:
            point[metric]["p99_ms"] = float(result[f"p99_{metric}_ms"])
    return point


def _request_shape(results: list[dict[str, Any]]) -> dict[str, int] | None:
    """The random dataset's lengths: total tokens over completed requests."""
    shapes = set()
    for result in results:
        completed = result.get("completed") or 0
        if completed and result.get("total_input_tokens") and result.get("total_output_tokens"):
            shapes.add((round(result["total_input_tokens"] / completed), round(result["total_output_tokens"] / completed)))
    if not shapes:
        return None
    prompt = round(sum(s[0] for s in shapes) / len(shapes))
    output = round(sum(s[1] for s in shapes) / len(shapes))
    return {"prompt_tokens": max(1, prompt), "output_tokens": max(1, output)}


def read_vllm_results(paths: list[Path]) -> list[dict[str, Any]]:
    results = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            try:
                results.append(json.loads(text))
            except ValueError as error:
                raise ResultsError(f"{path}: not JSON: {error}") from None
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if RESULT_MARKER in line:
                try:
                    results.append(json.loads(line.split(RESULT_MARKER, 1)[1]))
                except ValueError as error:
                    raise ResultsError(f"{path}:{number}: the result line is not JSON: {error}") from None
    if not results:
        raise ResultsError(f"{', '.join(map(str, paths))}: no vllm bench serve results (JSON files or "
                           f"'{RESULT_MARKER.strip()}' lines)")
    return results


def read_perf_analyzer(path: Path) -> list[dict[str, Any]]:
    """perf_analyzer's `-f` CSV, or the Job's log with its `LOADTEST-CSV` lines."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".csv":
        text = "\n".join(line.split(CSV_MARKER, 1)[1] for line in text.splitlines() if CSV_MARKER in line)
    rows = list(csv.DictReader(text.splitlines()))
    points = []
    for number, row in enumerate(rows, 2):
        try:
            points.append({
                "concurrency": int(row["Concurrency"]),
                "requests": max(1, round(float(row["Inferences/Second"]))),
                "request_throughput": float(row["Inferences/Second"]),
                "ttft": {
                    "mean_ms": float(row["p50 latency"]) / US_PER_MS,
                    "p50_ms": float(row["p50 latency"]) / US_PER_MS,
                    "p99_ms": float(row["p99 latency"]) / US_PER_MS,
                },
                "_infer_ms": float(row["Server Compute Infer"]) / US_PER_MS,
            })
        except (KeyError, TypeError, ValueError) as error:
            raise ResultsError(f"{path}:{number}: not a perf_analyzer -f row ({error.__class__.__name__}: {error})") from None
    if not points:
        raise ResultsError(f"{path}: no perf_analyzer rows")
    return sorted(points, key=lambda p: p["concurrency"])


def _fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    if len(xs) < 2 or max(xs) == min(xs):
        return max(ys[0], 1e-3), 0.0
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sum((x - mean_x) ** 2 for x in xs)
    slope = max(0.0, slope)
    return max(1e-3, mean_y - slope * mean_x), slope


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _event_time(event: dict[str, Any]) -> datetime | None:
    return _time(event.get("firstTimestamp") or event.get("eventTime") or event.get("lastTimestamp"))


def cold_start(events: dict[str, Any], pod: str, status: dict[str, Any] | None = None) -> dict[str, float]:
    """Stages of one pod's start from `kubectl get events -o json` (and its status for Ready)."""
    mine = [e for e in events.get("items", []) if (e.get("involvedObject") or {}).get("name") == pod]
    mine = sorted((e for e in mine if _event_time(e) is not None), key=lambda e: _event_time(e))  # type: ignore[arg-type,return-value]

    def first(reason: str, container: bool = False) -> datetime | None:
        for event in mine:
            path = (event.get("involvedObject") or {}).get("fieldPath") or ""
            if event.get("reason") == reason and (not container or SERVING_CONTAINER in path):
                return _event_time(event)
        return None

    stages: dict[str, float] = {}
    waited = first("TriggeredScaleUp") or first("FailedScheduling")
    scheduled = first("Scheduled")
    if waited and scheduled and scheduled >= waited:
        stages["node_provision_s"] = (scheduled - waited).total_seconds()
    pulling, pulled = first("Pulling", True), first("Pulled", True)
    if pulling and pulled and pulled >= pulling:
        stages["image_pull_s"] = (pulled - pulling).total_seconds()
    started = first("Started", True)
    ready = None
    for condition in ((status or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            ready = _time(condition.get("lastTransitionTime"))
    if started and ready and ready >= started:
        stages["container_start_s"] = (ready - started).total_seconds()
    return stages


def build_profile(model: ModelSpec, results: list[Path], events: Path | None, pod: str | None,
                  pod_status: Path | None, source: str) -> Profile:
    data: dict[str, Any] = {
        "model": model.name, "instance_type": model.instance_type, "runtime": model.runtime,
        "measured_at": datetime.now().date().isoformat(),
    }
    if results:
        if model.runtime == "vllm":
            raw = read_vllm_results(results)
            data["points"] = sorted((_vllm_point(r, source) for r in raw), key=lambda p: p["concurrency"])
            shape = _request_shape(raw)
            if shape is not None:
                data["request"] = shape
        else:
            points = read_perf_analyzer(results[0])
            assert model.triton is not None
            instances = max(1, sum(g.count for g in model.triton.instance_groups))
            batches = [min(model.triton.max_batch_size, max(1.0, p["concurrency"] / instances)) for p in points]
            base, per_item = _fit(batches, [p.pop("_infer_ms") for p in points])
            data["points"] = points
            data["triton"] = {"base_ms": round(base, 4), "per_item_ms": round(per_item, 4)}
    if events is not None:
        if pod is None:
            raise ResultsError("--events needs --pod: the pod whose cold start to read")
        status = json.loads(pod_status.read_text(encoding="utf-8")) if pod_status is not None else None
        stages = cold_start(json.loads(events.read_text(encoding="utf-8")), pod, status)
        if not stages:
            raise ResultsError(f"{events}: no start events of pod {pod} (Scheduled, Pulling/Pulled, Started)")
        data["cold_start"] = stages
    return parse_profile(data, source)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.planning.profile_build", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--stack", default="dev")
    source.add_argument("--stack-file", type=Path)
    parser.add_argument("--model", required=True)
    parser.add_argument("--results", type=Path, nargs="*", default=[])
    parser.add_argument("--events", type=Path)
    parser.add_argument("--pod")
    parser.add_argument("--pod-status", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="profile file to write (.yaml or .json)")
    args = parser.parse_args(argv)
    stack_file = args.stack_file or ROOT / "stacks" / f"Pulumi.{args.stack}.yaml"
    try:
        spec = parse_stack_config(read_stack_file(stack_file, str(stack_file)), str(stack_file))
        model = next((m for m in spec.models if m.name == args.model), None)
        if model is None:
            print(f"{stack_file}: no model named {args.model}; models: {', '.join(m.name for m in spec.models)}",
                  file=sys.stderr)
            return 2
        profile = build_profile(model, args.results, args.events, args.pod, args.pod_status, str(args.out))
    except (SpecError, ProfileError, ResultsError) as error:
        print(error, file=sys.stderr)
        return 2
    except (OSError, ValueError, pydantic.ValidationError) as error:
        print(f"{error.__class__.__name__}: {error}", file=sys.stderr)
        return 2
    data = profile.model_dump(mode="json", exclude_none=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=1) + "\n" if args.out.suffix == ".json" else yaml.safe_dump(data, sort_keys=False)
    args.out.write_text(text, encoding="utf-8")
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
