"""build/<stack>/simulation.json: per model, the trace, the oracle, every policy and the
tuner's recommendation, in the shape issue 14 fixed (attainment as a fraction)."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from components.planning.compare import Comparison
from components.planning.simulator import Result
from components.planning.tuner import Tuning, beaten_by, policy_json

# Policy names in simulation.json, by the simulator's display names.
JSON_NAMES = {
    "stack policy": "stack",
    "HPA on CPU": "hpa-cpu",
    "SageMaker invocations": "sagemaker-invocations",
    "KEDA queue default": "keda-default",
}


def _seconds(value: float) -> float | None:
    return None if math.isinf(value) or math.isnan(value) else round(value, 3)


def _policy(result: Result) -> dict[str, Any]:
    return {
        "name": JSON_NAMES.get(result.policy, result.policy),
        "attainment": round(result.attainment, 4),
        "gpu_hours": round(result.gpu_hours, 3),
        "cost_usd": round(result.cost_usd, 2),
        "ttft_p99_s": _seconds(result.ttft_p99_s),
    }


def model_json(comparison: Comparison, tuning: Tuning | None) -> dict[str, Any]:
    trace, bound = comparison.trace, comparison.bound
    entry: dict[str, Any] = {
        "trace": {
            "name": trace.name,
            "requests": comparison.oracle.requests,
            "duration_s": trace.duration_s,
            "peak_rps": round(trace.busiest_minute_rps(), 3),
            "seed": trace.seed,
            # A recording's wall-clock start (scheduled floors are replayed from it), else null.
            "opens_at": trace.opens_at(),
            # What max_replicas serve at the SLO (TRACE_PEAK's unit): measured on a recording's
            # own mix where one was replayed (mix_capacity.py), else max_replicas x μ_SLO.
            "ceiling_rps": round(comparison.setup.ceiling_rps, 4),
            "ceiling_measured_on_mix": comparison.setup.mix is not None and comparison.setup.mix.met,
            # One replica's rate at the SLO, which the SageMaker-invocations default's target
            # reads: measured alone on the mix where one was (a bound where it met the target at
            # no judged rate), else μ_SLO.
            "replica_rps": round(comparison.setup.replica_rps, 4),
            "replica_rps_measured_on_mix": comparison.setup.fleet(1) is not None,
            # A request's time in the system at that rate (Little's law gives the concurrency
            # targets' requests in flight): the mean that replay measured, else μ_SLO's estimate.
            "replica_latency_s": round(comparison.setup.replica_latency_s, 3),
        },
        "oracle": {
            "attainment": round(bound.result.attainment, 4),
            "gpu_hours": round(bound.result.gpu_hours, 3),
            "feasible": bound.feasible,
            # "max_replicas": more replicas would help; "slo": too many requests miss the SLO
            # even alone on an idle replica, so no replica count does (servability.py).
            "infeasible_because": bound.infeasible_because,
            "unservable_share": round(bound.unservable.share, 4) if bound.unservable is not None else None,
            "peak_replicas": bound.peak_replicas,
            "target_attainment": bound.target,
            "with_cold_start_gpu_hours": round(bound.with_cold_start_gpu_hours, 3),
            "fluid_gpu_hours": round(comparison.fluid_gpu_hours, 3),
        },
        "policies": [_policy(r) for r in comparison.results],
    }
    if tuning is not None:
        best = tuning.best
        entry["recommended"] = {
            "policy": policy_json(best.policy),
            # On the model's trace, as every policy above and the oracle; the stress trace's
            # (another seed, or arrivals moved) beside it.
            "attainment": round(best.own_attainment, 4),
            "stress_attainment": round(best.attainment, 4) if len(best.results) > 1 else None,
            "gpu_hours": round(best.gpu_hours, 3),
            "monthly_cost_delta_usd": round(tuning.monthly_cost_delta_usd, 2),
            "meets_target": best.meets,
            "beaten_by": [JSON_NAMES.get(d.policy, d.policy) for d in beaten_by(best, comparison.results[1:])],
            "traces_checked": len(best.results),
        }
    return entry


def write(path: Path, models: dict[str, dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"models": models}, indent=2, sort_keys=False) + "\n")
    return path
