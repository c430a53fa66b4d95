"""The simulator's results on a few (model, target, controller, trace) cases, to the last bit.

A refactor of the simulator must not move a single result: `golden_simulator.json` holds
every number below as Python writes floats (repr), so any change in the order of a sum
shows. A deliberate change to the service model re-records it with
`python -m tests.planning.test_simulator_golden` and says why in its commit.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from components.planning.compare import setup, simulate
from components.planning.controllers import Schedule, baselines, stack_policy
from components.planning.recorded import from_csv
from components.planning.traces import FLUID_MAX_ARRIVALS, bursty, rescaled, step
from tests.planning.helpers import eks_config, sagemaker_config, stack, with_model

GOLDEN = Path(__file__).parent / "data" / "golden_simulator.json"
AZURE_CONV = Path(__file__).parent / "data" / "azure_llm_2023_conv_sample.csv"


def _case(config: dict[str, Any], index: int, trace_of: Callable, controller: str = "stack",
          instant: bool = False, warm: bool = True) -> Callable[[], Any]:
    def run():
        spec = stack(config)
        model = spec.models[index]
        model_setup = setup(spec, model)
        trace = trace_of()
        policy = model.autoscaling
        if controller == "stack":
            chosen = stack_policy(policy, spec.target)
        elif controller == "schedule":
            chosen = Schedule((1, 2, 3, 2, 4, 1, 1, 3, 2, 2), 120)
        else:
            chosen = next(c for c in baselines(policy, 2.0) if c.name == controller)
        return simulate(model_setup, chosen, trace, instant=instant, warm=warm)

    return run


def _fluid(base_rps: float, burst_rps: float, duration_s: float, seed: int) -> Callable[[], Any]:
    """A Triton trace as the planner builds one: few arrivals, the intensity replayed."""
    return lambda: bursty(base_rps, burst_rps, duration_s, seed=seed, mean_gap_s=200, max_arrivals=FLUID_MAX_ARRIVALS)


def _long_prompts():
    trace = rescaled(from_csv(AZURE_CONV), 6.0, seed=3)
    return trace


CASES: dict[str, Callable[[], Any]] = {
    "eks-llama-stack-bursty": _case(eks_config(), 0, lambda: bursty(1.0, 6.0, 1200, seed=5)),
    "eks-llama-warm-pool-step": _case(
        with_model(eks_config(), 0, autoscaling={"warm_pool": 1}), 0, lambda: step(1.0, 5.0, 300, 1200, seed=6)
    ),
    # Cold starts (warm=False) do not read the capacity planner: they hold across planner changes.
    "eks-llama-hpa-cpu-bursty-cold": _case(eks_config(), 0, lambda: bursty(1.0, 6.0, 900, seed=7), "HPA on CPU",
                                           warm=False),
    "eks-llama-keda-default-bursty-cold": _case(eks_config(), 0, lambda: bursty(1.0, 6.0, 900, seed=8),
                                                "KEDA queue default", warm=False),
    "eks-llama-stack-bursty-cold": _case(eks_config(), 0, lambda: bursty(1.0, 6.0, 1200, seed=5), warm=False),
    "eks-llama-sagemaker-invocations-bursty": _case(eks_config(), 0, lambda: bursty(1.0, 6.0, 900, seed=15),
                                                    "SageMaker invocations"),
    # Beyond max_replicas: the queue grows until requests time out.
    "eks-llama-overload-timeouts": _case(eks_config(), 0, lambda: step(2.0, 14.0, 120, 900, seed=16)),
    "eks-classifier-overload-timeouts": _case(eks_config(), 1, _fluid(500.0, 9000.0, 900, 17)),
    "eks-classifier-stack-bursty-cold": _case(eks_config(), 1, _fluid(200.0, 1500.0, 900, 18),
                                              warm=False),
    "eks-llama-scale-to-zero-step": _case(
        with_model(eks_config(), 0, autoscaling={"scale_to_zero": True, "idle_timeout_s": 300}),
        0, lambda: step(0.0, 2.0, 400, 1200, seed=9),
    ),
    "eks-llama-azure-conv": _case(eks_config(), 0, _long_prompts),
    "eks-llama-oracle-schedule": _case(eks_config(), 0, lambda: bursty(1.0, 6.0, 1200, seed=10), "schedule", True),
    "eks-classifier-stack-bursty": _case(eks_config(), 1, _fluid(200.0, 2000.0, 1200, 11)),
    "sagemaker-llama-stack-bursty": _case(sagemaker_config(), 0, lambda: bursty(1.0, 6.0, 1200, seed=12)),
    "sagemaker-classifier-stack-bursty": _case(sagemaker_config(), 1, _fluid(200.0, 2500.0, 900, 13)),
}


def _digest(values: list) -> str:
    return hashlib.sha256(repr(list(values)).encode()).hexdigest()[:16]


def record(result: Any) -> dict[str, Any]:
    series = result.series
    return {
        "requests": result.requests,
        "good": result.good,
        "completed": result.completed,
        "timed_out": result.timed_out,
        "attainment": repr(result.attainment),
        "gpu_hours": repr(result.gpu_hours),
        "cost_usd": repr(result.cost_usd),
        "ttft_p50_s": repr(result.ttft_p50_s),
        "ttft_p99_s": repr(result.ttft_p99_s),
        "latency_p99_s": repr(result.latency_p99_s),
        "peak_replicas": result.peak_replicas,
        "mean_replicas": repr(result.mean_replicas),
        "series": {
            name: _digest(getattr(series, name))
            for name in ("ready", "wanted", "waiting", "arrivals", "gpus_billed", "ttft_p99_per_minute")
        },
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_simulator_reproduces_its_recorded_results_bit_for_bit(name):
    golden = json.loads(GOLDEN.read_text())
    assert record(CASES[name]()) == golden[name]


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps({name: record(run()) for name, run in sorted(CASES.items())}, indent=1) + "\n")
    print(f"wrote {GOLDEN}")
