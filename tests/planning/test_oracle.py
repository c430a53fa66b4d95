"""The yardstick: the oracle meets the SLO target at the least GPU-hours it can find within
max_replicas, or says the trace is infeasible; every run starts warm."""
import dataclasses
import math

import pytest

from components.planning.compare import compare, foresight, opening_load, setup, simulate
from components.planning.controllers import Schedule, stack_policy
from components.planning.oracle import P99_ATTAINMENT, attainment_target, cold_start_cost_s, schedule_for
from components.planning.simulator import Simulation
from components.planning.traces import Trace, bursty, steady
from tests.planning.helpers import eks_config, stack, with_model


def llama_setup(config=None):
    spec = stack(config or eks_config())
    return setup(spec, spec.models[0])




def test_the_oracle_meets_the_p99_target_cheaper_than_holding_the_ceiling():
    model_setup = llama_setup()
    trace = bursty(0.2 * model_setup.ceiling_rps, 0.8 * model_setup.ceiling_rps, 1800, seed=11)
    bound = foresight(model_setup, trace)
    assert bound.feasible and bound.target == P99_ATTAINMENT == attainment_target(model_setup.model.slo)
    assert bound.result.attainment >= 0.99
    assert max(bound.schedule) <= model_setup.model.autoscaling.max_replicas == 4
    ceiling = schedule_for(trace.peak_per_bucket(60), 1.0, math.inf, 4)
    held = simulate(model_setup, Schedule(ceiling, 60), trace, instant=True)
    assert bound.result.gpu_hours < 0.9 * held.gpu_hours
    # Foresight paying the real cold start for every replica it starts costs more.
    assert bound.with_cold_start_gpu_hours > bound.result.gpu_hours


def test_the_oracle_is_never_below_the_fluid_bound_and_never_beaten_by_a_policy_that_meets_the_target():
    model_setup = llama_setup()
    trace = bursty(0.2 * model_setup.ceiling_rps, 0.8 * model_setup.ceiling_rps, 1800, seed=12)
    comparison = compare(model_setup, trace)
    assert comparison.fluid_gpu_hours <= comparison.oracle.gpu_hours
    for result in comparison.results:
        if result.attainment >= 0.99:
            assert result.gpu_hours >= comparison.oracle.gpu_hours


def test_a_load_beyond_max_replicas_is_infeasible_and_the_oracle_says_so():
    model_setup = llama_setup()
    trace = steady(1.6 * model_setup.ceiling_rps, 900, seed=13)
    bound = foresight(model_setup, trace)
    assert not bound.feasible
    assert bound.peak_replicas == 4 and bound.result.attainment < 0.99


def test_one_more_replica_allowed_makes_the_same_trace_feasible():
    tight = llama_setup(with_model(eks_config(), 0, autoscaling={"max_replicas": 1}))
    loose = llama_setup(with_model(eks_config(), 0, autoscaling={"max_replicas": 2}))
    # 1.3 replicas' worth at μ_SLO: more than one replica serves within the SLO, less than two.
    trace = steady(1.3 * tight.capacity.requests_per_s * 1.6, 900, seed=14)
    assert not foresight(tight, trace).feasible
    wide = foresight(loose, trace)
    assert wide.feasible and wide.peak_replicas == 2


def test_runs_start_at_the_controllers_steady_state_for_the_opening_load():
    model_setup = llama_setup()
    mu = model_setup.capacity.requests_per_s
    trace = steady(2.4 * mu, 600, seed=15)
    opening = opening_load(model_setup, trace)
    assert opening.rps == pytest.approx(2.4 * mu, rel=0.1)
    result = simulate(model_setup, stack_policy(model_setup.model.autoscaling, "eks"), trace)
    cold = simulate(model_setup, stack_policy(model_setup.model.autoscaling, "eks"), trace, warm=False)
    assert result.series.ready[0] == 3 and cold.series.ready[0] == 1
    assert max(result.series.waiting[:120]) == 0 and max(cold.series.waiting[:120]) > 0
    slo_s = model_setup.model.slo.ttft_p99_ms / 1000
    assert max(result.series.ttft_p99_per_minute[:4]) < slo_s < max(cold.series.ttft_p99_per_minute[:4])


def test_prefix_cache_hits_shorten_the_prefill():
    model_setup = llama_setup(with_model(eks_config(), 0, autoscaling={"min_replicas": 1, "max_replicas": 1}))
    arrivals = tuple(float(t) for t in range(0, 300, 2))
    plain = Trace("long prompts", 300, arrivals, (6000,) * len(arrivals), (50,) * len(arrivals))
    cached = dataclasses.replace(plain, cached=(5500,) * len(arrivals))
    without = simulate(model_setup, stack_policy(model_setup.model.autoscaling, "eks"), plain)
    with_hits = simulate(model_setup, stack_policy(model_setup.model.autoscaling, "eks"), cached)
    assert with_hits.ttft_p50_s < 0.5 * without.ttft_p50_s


def test_chunked_prefill_keeps_decoding_while_long_prompts_prefill():
    model_setup = llama_setup(with_model(eks_config(), 0, autoscaling={"min_replicas": 1, "max_replicas": 1}))
    service = model_setup.service
    # The L40S has 48 GB: vLLM's smaller default token budget.
    assert service.max_batched_tokens == 2048
    assert service.mixed_step_s(4, 2000) >= service.step_s(4, 2000)
    assert service.prefill_stretch(4, 2000) >= 1 + 4 / 2044 - 1e-9
    # One request decodes 600 tokens while ten 7,000-token prompts arrive behind it.
    controller = lambda: stack_policy(model_setup.model.autoscaling, "eks")  # noqa: E731
    alone = Trace("one", 60, (0.0,), (100,), (600,))
    arrivals = (0.0,) + tuple(1.0 + 0.01 * i for i in range(10))
    crowded = Trace("long prompts", 60, arrivals, (100,) + (7000,) * 10, (600,) + (2,) * 10)

    def first_done(trace):
        run = Simulation(model_setup.model, "eks", controller(), trace, service, model_setup.timings,
                         model_setup.usd_per_replica_hour, model_setup.usd_per_node_hour, pool=model_setup.pool,
                         node_gpus=model_setup.node_gpus, workload=model_setup.workload)
        run.run()
        return run.server.finished[0]

    serial_prefill = 10 * service.prefill_s(7000)
    assert serial_prefill > 2.0
    delay = first_done(crowded) - first_done(alone)
    # Decoding went on during the prefills: a prefill-first scheduler would stall it for all of them.
    assert 0 < delay < 0.8 * serial_prefill


def test_shared_numbers_come_from_one_place():
    from components.compilers.keda import RESPONSE_TIMEOUT_S
    from components.intent.stack import SAGEMAKER_FLEET_START_S
    from components.planning import platform
    from tests.conftest import parse, stack_config

    assert platform.REQUEST_TIMEOUT_S == RESPONSE_TIMEOUT_S
    # The simulator's SageMaker instance start fits the budget stack validation leaves for it.
    for name in ("sagemaker-dev", "sagemaker-prod"):
        spec = parse(stack_config(name))
        for model in spec.models:
            assert platform.timings(model, "sagemaker").cold_s <= SAGEMAKER_FLEET_START_S, (name, model.name)


def test_the_cpu_an_hpa_divides_by_is_the_cpu_the_pod_requests():
    from components.compilers.kserve import pod_size
    from components.planning import platform
    from tests.conftest import parse, stack_config

    for name in ("dev", "staging", "prod"):
        for model in parse(stack_config(name)).models:
            assert platform.cpu_request(model) == float(pod_size(model).cpu) >= 1, (name, model.name)


def test_foresight_with_a_cold_start_keeps_a_replica_through_a_gap_shorter_than_the_cold_start():
    cold = 355.0
    # Slot 1 runs, stops for 5 minutes (shorter than the chain) and comes back: 300 s held.
    assert cold_start_cost_s((1, 2, 1, 1, 1, 1, 1, 2), cold, 60.0) == cold + 300.0
    # Stopped for 6 minutes, just over the chain: restarting costs the chain.
    assert cold_start_cost_s((1, 2, 1, 1, 1, 1, 1, 1, 2), cold, 60.0) == cold + cold
    # At exactly the chain's length both cost the same.
    assert cold_start_cost_s((1, 2, 1, 1, 1, 1, 1, 1, 2), 360.0, 60.0) == 720.0
    # The replicas of the first minute were already serving; each later slot starts cold once.
    assert cold_start_cost_s((2, 2, 3, 4, 4), cold, 60.0) == 2 * cold
    assert cold_start_cost_s((0, 1, 0, 1), cold, 60.0) == cold + 60.0
    assert cold_start_cost_s((), cold, 60.0) == 0.0


def test_where_holding_a_steady_fleet_is_cheaper_than_following_the_load_the_oracle_holds_it():
    from pathlib import Path

    from components.planning.recorded import from_csv
    from components.planning.traces import rescaled

    recorded = from_csv(Path(__file__).parent / "data" / "azure_llm_2023_conv_sample.csv")
    model_setup = setup(stack(eks_config()), stack(eks_config()).models[0], recorded.workload())
    # Minutes that swing around a replica's worth: a steady three beats every headroom.
    trace = rescaled(recorded, 11.6, 0)
    bound = foresight(model_setup, trace)
    assert bound.feasible and set(bound.schedule) == {3} and math.isnan(bound.headroom)
    two = simulate(model_setup, Schedule((2,) * len(bound.schedule), 60), trace, instant=True)
    assert two.attainment < 0.99 <= bound.result.attainment
    needs = trace.peak_per_bucket(60)
    mu = model_setup.capacity.requests_per_s
    meeting = []
    for headroom in (0.8, 0.9, 1.0, 1.2, 1.5, 2.0):
        following = simulate(model_setup, Schedule(schedule_for(needs, mu, headroom, 4), 60), trace, instant=True)
        if following.attainment >= 0.99:
            meeting.append(following.gpu_hours)
    assert meeting and min(meeting) > bound.result.gpu_hours
