"""Textbook cases the autoscaling simulator must reproduce, on both targets."""
import dataclasses
import math

import pytest

from components.planning.compare import compare, default_trace, setup, simulate
from components.planning.controllers import baselines, stack_policy
from components.planning.simulator import MIN_BILLED_S
from components.planning.traces import Trace, steady, step
from tests.planning.helpers import eks_config, sagemaker_config, stack, with_model


def llama_setup(config=None, **timing):
    spec = stack(config or eks_config())
    return setup(spec, spec.models[0], **timing)


def fixed(config, replicas):
    return with_model(config, 0, autoscaling={"min_replicas": replicas, "max_replicas": replicas})


def run(model_setup, trace, controller=None):
    policy = model_setup.model.autoscaling
    return simulate(model_setup, controller or stack_policy(policy, model_setup.target), trace)


def test_steady_load_below_capacity_never_queues():
    model_setup = llama_setup(fixed(eks_config(), 2))
    mu = model_setup.capacity.requests_per_s
    result = run(model_setup, steady(0.5 * 2 * mu, 900, seed=1))
    assert max(result.series.waiting) == 0
    assert result.attainment >= 0.98
    assert result.ttft_p99_s < model_setup.model.slo.ttft_p99_ms / 1000
    assert result.peak_replicas == 2


def test_steady_triton_load_below_capacity_never_queues():
    spec = stack(with_model(eks_config(), 1, autoscaling={"min_replicas": 1, "max_replicas": 1}))
    model_setup = setup(spec, spec.models[1])
    result = run(model_setup, steady(0.5 * model_setup.capacity.requests_per_s, 600, seed=1))
    assert max(result.series.waiting) == 0
    assert result.attainment == pytest.approx(1.0)
    assert result.latency_p99_s < 0.150


def test_load_above_max_replicas_breaks_the_slo():
    model_setup = llama_setup()
    ceiling = model_setup.ceiling_rps
    at_max = llama_setup(fixed(eks_config(), 4))
    below = run(at_max, steady(0.6 * ceiling, 900, seed=2))
    # Beyond what the replicas complete at any batch, not only beyond μ_SLO x max_replicas.
    above = run(model_setup, steady(1.8 * ceiling, 900, seed=2))
    assert above.peak_replicas == model_setup.model.autoscaling.max_replicas
    assert above.attainment < 0.75 and below.attainment > 0.95
    waiting = above.series.waiting
    assert waiting[800] > waiting[400] > 0, "the queue keeps growing at the ceiling"
    assert above.ttft_p99_s > 30


def test_a_longer_cold_start_makes_the_tail_worse():
    fast, slow = llama_setup(), llama_setup(timing_scale=3.0)
    trace = step(0.2 * fast.ceiling_rps, 0.8 * fast.ceiling_rps, 300, 2400, seed=3)
    quick, sluggish = run(fast, trace), run(slow, trace)
    assert slow.timings.cold_s == pytest.approx(3 * fast.timings.cold_s - 2 * fast.timings.readiness_s)
    assert sluggish.ttft_p99_s > 1.5 * quick.ttft_p99_s
    assert sluggish.attainment < quick.attainment


def test_a_warm_pool_skips_node_provisioning_and_the_image_pull():
    cold = llama_setup()
    warm = llama_setup(with_model(eks_config(), 0, autoscaling={"warm_pool": 1}))
    trace = step(0.2 * cold.ceiling_rps, 0.45 * cold.ceiling_rps, 300, 1800, seed=4)
    without, with_pool = run(cold, trace), run(warm, trace)
    first_ready = lambda result: next(i for i, n in enumerate(result.series.ready) if n >= 2)  # noqa: E731
    assert first_ready(with_pool) < first_ready(without) - 200
    assert with_pool.attainment > without.attainment
    assert with_pool.gpu_hours > without.gpu_hours, "the placeholder's GPU is paid for"


def test_scale_to_zero_idles_and_the_next_request_waits_a_cold_start():
    config = with_model(eks_config(), 0, autoscaling={"scale_to_zero": True, "idle_timeout_s": 600})
    model_setup = llama_setup(config)
    early = [float(t) for t in range(0, 120, 10)]
    late = [2400.0]
    trace = Trace("two bursts", 2500, tuple(early + late), (512,) * 13, (64,) * 13)
    result = run(model_setup, trace)
    ready = result.series.ready
    assert ready[100] == 1 and min(ready[800:2400]) == 0
    assert result.series.ready[-1] == 1
    # The late request waits for a GPU node, the image and the engine.
    assert result.ttft_p99_s > model_setup.timings.cold_s * 0.9


def test_hpa_on_cpu_never_sees_an_llm_queue():
    model_setup = llama_setup()
    hpa_cpu = baselines(model_setup.model.autoscaling, model_setup.capacity.requests_per_s)[0]
    result = run(model_setup, steady(1.2 * model_setup.ceiling_rps / 4 * 2, 900, seed=5), hpa_cpu)
    assert result.peak_replicas == model_setup.model.autoscaling.min_replicas
    assert result.attainment < 0.5


def test_the_comparison_covers_the_stack_policy_the_defaults_and_the_oracle():
    model_setup = llama_setup()
    comparison = compare(model_setup, default_trace(model_setup, "bursty", 1800, seed=6))
    names = [r.policy for r in comparison.results] + [comparison.oracle.policy]
    assert names == ["stack policy", "HPA on CPU", "SageMaker invocations", "KEDA queue default", "oracle"]
    assert comparison.oracle.attainment >= 0.95
    assert comparison.fluid_gpu_hours <= comparison.oracle.gpu_hours
    for result in comparison.results:
        assert result.requests == comparison.oracle.requests
        assert result.cost_usd == pytest.approx(result.gpu_hours * model_setup.usd_per_replica_hour, rel=1e-6)


@pytest.mark.parametrize("index", [0, 1])
def test_sagemaker_stacks_scale_instances_by_target_tracking(index):
    spec = stack(sagemaker_config())
    model_setup = setup(spec, spec.models[index])
    comparison = compare(model_setup, default_trace(model_setup, "bursty", 1800, seed=7))
    own = comparison.stack
    signal = "ConcurrentRequestsPerModel" if index == 0 else "InvocationsPerInstance"
    assert signal in own.description
    assert model_setup.timings.target == "sagemaker"
    assert own.gpu_hours * 3600 >= MIN_BILLED_S
    assert 0 < own.attainment <= 1
    assert len(comparison.results) == 4


def test_sagemaker_spare_instances_are_always_in_service():
    config = sagemaker_config()
    config["ml-serving:models"][0]["autoscaling"]["warm_pool"] = 1
    spec = stack(config)
    model_setup = setup(spec, spec.models[0])
    result = run(model_setup, steady(0.1 * model_setup.capacity.requests_per_s, 600, seed=8))
    assert min(result.series.ready) == 2


def test_runs_are_deterministic():
    model_setup = llama_setup()
    trace = default_trace(model_setup, "bursty", 900, seed=9)
    first, second = run(model_setup, trace), run(model_setup, trace)
    assert (first.good, first.gpu_hours, first.ttft_p99_s) == (second.good, second.gpu_hours, second.ttft_p99_s)
    assert not math.isnan(first.ttft_p50_s)


def test_the_endpoint_picker_keeps_shared_prefixes_on_the_replica_that_holds_them():
    """Four replicas, long prompts sharing 5,500 of 6,000 tokens with an earlier request: behind
    the picker each hit lands where its prefix lives; plain balancing finds it one time in four."""
    fixed = {"min_replicas": 4, "max_replicas": 4}
    arrivals = tuple(t * 0.5 for t in range(600))
    plain = Trace("shared prefixes", 300, arrivals, (6000,) * len(arrivals), (50,) * len(arrivals))
    shared = dataclasses.replace(plain, cached=(5500,) * len(arrivals))
    results = {}
    for balancer in ("round_robin", "endpoint_picker"):
        setup = llama_setup(with_model(eks_config(), 0, autoscaling=fixed, routing={"balancer": balancer}))
        policy = stack_policy(setup.model.autoscaling, "eks")
        results[balancer] = (simulate(setup, policy, shared), simulate(setup, policy, plain))
    (rr_shared, rr_plain), (picker_shared, picker_plain) = results["round_robin"], results["endpoint_picker"]
    assert picker_shared.ttft_p50_s < 0.5 * rr_shared.ttft_p50_s
    assert rr_shared.ttft_p50_s < rr_plain.ttft_p50_s
    # Without shared prefixes in the trace, the two routings serve alike.
    assert picker_plain.ttft_p50_s == rr_plain.ttft_p50_s and picker_plain.attainment == rr_plain.attainment
