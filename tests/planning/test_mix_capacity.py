"""The ceiling measured on a recording's own request mix: what TRACE_PEAK scales to, what the
tuner's targets are shares of, and what sizes the SageMaker-invocations default, the warm
start and the scheduled floors on a recording."""
import math
from dataclasses import replace
from pathlib import Path

import pytest

from components.planning.compare import (
    compare,
    declared_setup,
    default_trace,
    opening_load,
    setup,
    simulate,
    with_mix_ceiling,
)
from components.planning.controllers import Schedule, day_clock, stack_policy_on
from components.planning.floors import hourly_floors
from components.planning.mix_capacity import LOWEST_JUDGED_RPS, MIX_SEED, mix_ceiling, mixed_arrivals, replay_duration_s
from components.planning.oracle import attainment_target
from components.planning.recorded import from_csv
from components.planning.report import preview_runs
from components.planning.tuner import _shapes
from tests.planning.helpers import eks_config, stack, with_model

DATA = Path(__file__).parent / "data"
CODE = DATA / "azure_llm_2023_code_sample.csv"
CONVERSATION = DATA / "azure_llm_2023_conv_sample.csv"
ROOT = Path(__file__).resolve().parents[2]


def _dev_llama(trace):
    """dev's llama-8b (two L4 replicas at most) planned at the recording's mean shape."""
    from components.intent.loading import parse_stack_config
    from components.preview.stackfile import read_stack_file

    path = ROOT / "stacks" / "Pulumi.dev.yaml"
    spec = parse_stack_config(read_stack_file(path, str(path)), str(path))
    model = next(m for m in spec.models if m.name == "llama-8b")
    return setup(spec, model, trace.workload())


def _attainment_on_fixed_fleet(model_setup, trace, rate, seed, replicas=None):
    duration = replay_duration_s(rate)
    replicas = model_setup.model.autoscaling.max_replicas if replicas is None else replicas
    fleet = Schedule((replicas,) * (math.ceil(duration / 60) + 1), 60.0)
    return simulate(model_setup, fleet, mixed_arrivals(trace, rate, duration, seed), instant=True).attainment


def test_the_same_draws_at_another_rate_are_the_same_rows_spaced_closer():
    recorded = from_csv(CODE)
    slow, fast = mixed_arrivals(recorded, 0.5, 600.0), mixed_arrivals(recorded, 1.0, 600.0)
    shared = len(slow.arrivals)
    assert len(fast.arrivals) > shared > 200
    assert fast.prompts[:shared] == slow.prompts and fast.outputs[:shared] == slow.outputs
    assert all(abs(f * 2 - s) < 1e-9 for f, s in zip(fast.arrivals, slow.arrivals))
    # Rows come from the recording only, with its cached tokens where it carries them.
    assert set(slow.prompts) <= set(recorded.prompts) and slow.cached is None
    assert replay_duration_s(0.1) == 8 * 3600 and replay_duration_s(100.0) == 600.0 and replay_duration_s(2.0) == 1500.0


@pytest.fixture(scope="module")
def dev_on_code():
    """dev's llama-8b on the Azure code sample: planned at the mean shape, and measured."""
    recorded = from_csv(CODE)
    planned = _dev_llama(recorded)
    return recorded, planned, with_mix_ceiling(planned, recorded)


def test_a_wide_mix_serves_far_less_than_the_mean_shape_and_the_measured_ceiling_is_where_the_target_holds(dev_on_code):
    recorded, model_setup, measured = dev_on_code
    ceiling = measured.mix
    assert ceiling is not None and ceiling.met and ceiling.replicas == 2
    # 7k-token prefills in front of short requests: under half of max_replicas x μ_SLO.
    assert ceiling.requests_per_s < 0.5 * ceiling.mean_shape_rps
    target = attainment_target(model_setup.model.slo)
    # On draws the bisection never saw: the measured rate holds, a fifth more does not.
    held_out = 7
    assert _attainment_on_fixed_fleet(model_setup, recorded, ceiling.requests_per_s, held_out) >= target - 0.005
    assert _attainment_on_fixed_fleet(model_setup, recorded, 1.2 * ceiling.requests_per_s, held_out) < target
    assert measured.ceiling_rps == ceiling.requests_per_s and measured.pooled_replica_rps == ceiling.requests_per_s / 2
    assert model_setup.ceiling_rps == pytest.approx(2 * model_setup.capacity.requests_per_s)


def test_the_tuner_adds_request_rate_targets_from_the_measured_mix_and_none_without_one(dev_on_code):
    _, planned, measured = dev_on_code

    def rate_targets(model_setup):
        return sorted({s["target"] for s in _shapes(model_setup) if s.get("signal") == "requests_per_second"})

    mu, per_replica = planned.capacity.requests_per_s, measured.pooled_replica_rps
    assert rate_targets(planned) == sorted({round(0.6 * mu, 3), round(0.85 * mu, 3)})
    assert rate_targets(measured) == sorted({round(s * r, 3) for r in (mu, per_replica) for s in (0.6, 0.85)})
    assert min(rate_targets(measured)) < 0.6 * mu


def test_no_rate_meets_where_too_many_prompts_are_unservable_and_the_ceiling_stays_the_mean_shapes():
    recorded = from_csv(DATA / "mooncake_conversation_sample.csv")
    spec = stack(with_model(eks_config(), 0, slo={"ttft_p99_ms": 1000, "tpot_p99_ms": 50}))
    model_setup = setup(spec, spec.models[0], recorded.workload())
    ceiling = mix_ceiling(model_setup, recorded, steps=3)
    assert ceiling is not None and not ceiling.met
    assert "no steady rate meets the SLO target" in ceiling.describe()
    assert with_mix_ceiling(model_setup, recorded).ceiling_rps == model_setup.ceiling_rps


def test_a_rate_too_low_for_the_longest_replay_to_judge_is_never_taken_as_met(monkeypatch):
    from components.planning import mix_capacity

    recorded = from_csv(CODE)
    model_setup = _dev_llama(recorded)
    assert mix_ceiling(model_setup, recorded, steps=5).met
    # Above what the longest replay holds at any rate of the bracket, nothing is judged met,
    # however few of the requests miss.
    monkeypatch.setattr(mix_capacity, "MIN_JUDGED_REQUESTS", 10**9)
    assert not mix_ceiling(model_setup, recorded, steps=5).met


def test_a_triton_model_has_no_mix_to_measure():
    spec = stack(eks_config())
    classifier = next(m for m in spec.models if m.runtime == "triton")
    assert mix_ceiling(setup(spec, classifier), from_csv(CONVERSATION)) is None


def _declared_code_trace(**model):
    """The test stack's llama declaring the Azure code sample as its traffic."""
    spec = stack(with_model(eks_config(), 0, traffic={"csv": str(CODE)}, **model))
    return spec, declared_setup(spec, spec.models[0], None, 0)


def test_a_declared_recording_is_planned_on_its_mix_in_the_preview_as_in_make_simulate():
    spec, (model_setup, trace) = _declared_code_trace()
    planned = setup(spec, spec.models[0], trace.workload())
    assert model_setup.mix == with_mix_ceiling(planned, trace).mix and model_setup.mix.met
    preview = preview_runs(spec)[0]
    assert preview.setup.mix == model_setup.mix and preview.setup.ceiling_rps == model_setup.ceiling_rps


def test_the_warm_start_opens_with_the_fewest_replicas_whose_ceiling_on_the_mix_covers_the_opening_load():
    # dev's L4 and SLO, six replicas at most: one L4 alone meets the target on the code mix at
    # no rate a replay can judge, pooled ones absorb each other's 7k-token prefills.
    spec, (measured, trace) = _declared_code_trace(
        instance_type="g6.xlarge", slo={"ttft_p99_ms": 2500, "tpot_p99_ms": 100}, vllm={"max_num_seqs": 16},
        autoscaling={"max_replicas": 6},
    )
    mean_shape = replace(measured, mix=None)
    opening = opening_load(measured, trace).rps
    needed = measured.replicas_for(opening)
    assert measured.fleet_rps(needed - 1) < opening <= measured.fleet_rps(needed)
    assert measured.fleet_rps(1) == 0.0 and measured.replica_rps < 0.05 < mean_shape.replica_rps
    at_mean = math.ceil(opening / mean_shape.replica_rps)
    assert needed > at_mean > 1
    queue_policy = stack_policy_on(measured.model.autoscaling, "eks", trace)
    assert simulate(measured, queue_policy, trace).series.ready[0] == needed
    assert simulate(mean_shape, queue_policy, trace).series.ready[0] == at_mean


def test_replicas_for_a_load_is_the_fewest_whose_measured_ceiling_covers_it_exactly_at_the_edge():
    _, (measured, _) = _declared_code_trace(autoscaling={"max_replicas": 8})
    ceilings = [measured.fleet_rps(n) for n in range(1, 9)]
    assert ceilings == sorted(ceilings) and ceilings[-1] == measured.ceiling_rps
    for n, ceiling in enumerate(ceilings, start=1):
        assert measured.replicas_for(ceiling) == min(m for m, c in enumerate(ceilings, start=1) if c >= ceiling)
        if n < 8:
            assert measured.replicas_for(math.nextafter(ceiling, math.inf)) > n
    assert measured.replicas_for(10 * ceilings[-1]) == 8 and measured.replicas_for(0.0) == 0
    assert replace(measured, mix=None).replicas_for(1.0) is None


def test_the_sagemaker_default_targets_half_the_rate_a_replica_serves_on_the_mix():
    # One L40S alone serves 0.59 req/s of the code mix at the SLO where the mean shape said 3.0: a
    # load test with the users' own requests (AWS's guidance for the target) scales out
    # where one at the mean shape would hold a single instance and miss a third of them.
    _, (measured, trace) = _declared_code_trace(autoscaling={"max_replicas": 8})
    mean_shape = replace(measured, mix=None)

    def sagemaker_default(model_setup):
        return next(r for r in compare(model_setup, trace).results if r.policy == "SageMaker invocations")

    on_mix, on_mean = sagemaker_default(measured), sagemaker_default(mean_shape)
    assert on_mean.peak_replicas == 1 and on_mean.attainment < 0.7
    assert on_mix.peak_replicas > 1 and on_mix.attainment > on_mean.attainment + 0.2


def test_the_tuner_adds_concurrency_targets_from_the_requests_in_flight_at_the_measured_rate():
    _, (measured, _) = _declared_code_trace()
    mean_shape = replace(measured, mix=None)

    def concurrency_targets(model_setup):
        return {s["target"] for s in _shapes(model_setup) if s.get("signal") == "concurrency"}

    slots = float(measured.model.vllm.max_num_seqs)

    def shares(rate, latency):
        return {float(max(1, round(share * max(1.0, rate * latency)))) for share in (0.5, 0.9)}

    mu, mu_latency = measured.capacity.requests_per_s, measured.capacity.latency_s
    # Without a mix: the planner's figure at μ_SLO, kept as an anchor of the grid, and one
    # replica replayed at μ_SLO on the mean shape, which holds fewer in flight.
    replayed = mean_shape.mean_shape_latency_s
    assert replayed < mu_latency
    assert concurrency_targets(mean_shape) == shares(mu, mu_latency) | shares(mu, replayed) | {slots}
    # One replica alone serves a fifth of μ_SLO on the code mix, each request in the system for
    # the mean time its replay measured: fewer requests in flight.
    alone = measured.fleet(1)
    assert measured.replica_latency_s == alone.latency_s != mu_latency
    on_mix = shares(measured.replica_rps, alone.latency_s)
    assert concurrency_targets(measured) == shares(mu, mu_latency) | on_mix | {slots}
    assert on_mix - shares(mu, mu_latency)


@pytest.fixture(scope="module")
def prod_llama_on_conversation():
    """prod's llama-8b (one L40S a replica) measured on the Azure conversation sample."""
    from components.intent.loading import parse_stack_config
    from components.preview.stackfile import read_stack_file

    path = ROOT / "stacks" / "Pulumi.prod.yaml"
    spec = parse_stack_config(read_stack_file(path, str(path)), str(path))
    model = next(m for m in spec.models if m.name == "llama-8b")
    recorded = from_csv(CONVERSATION)
    return recorded, with_mix_ceiling(setup(spec, model, recorded.workload()), recorded)


def test_the_requests_a_replica_holds_in_flight_on_a_mix_are_its_rate_times_the_mean_time_its_replay_measured(
        prod_llama_on_conversation):
    recorded, measured = prod_llama_on_conversation
    alone = measured.fleet(1)
    assert alone.met and alone.replicas == 1
    # The measurement's own replay at the rate it found, on one replica that is up throughout.
    duration = replay_duration_s(alone.requests_per_s)
    fleet = Schedule((1,) * (math.ceil(duration / 60) + 1), 60.0)
    replay = simulate(measured, fleet, mixed_arrivals(recorded, alone.requests_per_s, duration), instant=True,
                      warm=False)
    assert replay.attainment >= attainment_target(measured.model.slo)
    assert alone.latency_s == replay.mean_latency_s
    assert alone.inflight_per_replica == pytest.approx(alone.requests_per_s * replay.mean_latency_s)
    # The planner's figure is its tail TTFT plus the mean shape's decode: it put half as many
    # again in flight as this mix holds.
    assert measured.capacity.latency_s > 1.3 * alone.latency_s
    # A concurrency controller's warm start reads the measured time too.
    opening = opening_load(measured, recorded)
    assert opening.latency_s == alone.latency_s
    assert opening.inflight() == pytest.approx(opening.rps * alone.latency_s)


def test_without_a_mix_the_requests_in_flight_are_mu_slo_times_the_mean_shapes_replayed_time_in_the_system():
    from components.planning.capacity import DEFAULT_WORKLOAD
    from components.planning.mix_capacity import mean_shape_time_in_system_s
    from components.planning.traces import Trace

    spec = stack(eks_config())
    planned = setup(spec, spec.models[0], DEFAULT_WORKLOAD)
    mu = planned.capacity.requests_per_s
    # One replica up throughout, Poisson arrivals at μ_SLO, every request the mean shape.
    duration = replay_duration_s(mu)
    shape = Trace("shape", 1.0, (0.0,), (DEFAULT_WORKLOAD.prompt_tokens,), (DEFAULT_WORKLOAD.output_tokens,))
    replay = simulate(planned, Schedule((1,) * (math.ceil(duration / 60) + 1), 60.0),
                      mixed_arrivals(shape, mu, duration), instant=True, warm=False)
    assert set(replay.series.ready) == {1} and replay.requests > 1_000
    assert planned.mean_shape_latency_s == replay.mean_latency_s == mean_shape_time_in_system_s(planned)
    assert planned.replica_latency_s == planned.mean_shape_latency_s
    # The planner's tail TTFT plus decode is not a mean: it holds more in flight than the replay.
    assert planned.capacity.latency_s > 1.1 * planned.mean_shape_latency_s
    # What a concurrency controller's warm start and the tuner's μ_SLO targets read.
    trace = default_trace(planned, "steady", 1800.0)
    opening = opening_load(planned, trace)
    assert opening.inflight() == pytest.approx(opening.rps * replay.mean_latency_s)
    held = max(1.0, mu * replay.mean_latency_s)
    targets = {s["target"] for s in _shapes(planned) if s.get("signal") == "concurrency"}
    assert {float(max(1, round(share * held))) for share in (0.5, 0.9)} <= targets
    # 8 in flight a replica: three replicas for the steady trace's opening, where the
    # planner's figure would have opened with all four.
    policy = planned.model.autoscaling.model_copy(update={"signal": "concurrency", "target": 8.0, "min_replicas": 1})
    expected = math.ceil(opening.inflight() / 8.0 - 1e-9)
    assert expected < policy.max_replicas < math.ceil(opening.rps * planned.capacity.latency_s / 8.0)
    assert simulate(planned, stack_policy_on(policy, "eks", trace), trace).series.ready[0] == expected


def test_a_triton_model_reads_its_batch_latency_as_the_time_in_the_system():
    classifier = next(m for m in stack(eks_config()).models if m.runtime == "triton")
    planned = setup(stack(eks_config()), classifier)
    assert planned.mean_shape_latency_s == planned.capacity.latency_s == planned.replica_latency_s


def test_the_mean_time_in_the_system_counts_finished_requests_only():
    from components.intent.slo import Slo
    from components.planning.recorder import Recorder

    recorder = Recorder(Slo(ttft_p99_ms=1000))
    recorder.finished(0.1, 0.01, 2.0, 1)
    recorder.finished(0.1, 0.01, 6.0, 3)
    result = recorder.result(policy="p", description="", requests=5, duration_s=60.0, lost=1.0, never_started=1,
                             streamed=True, ended_at=60.0, gpu_seconds=60.0, cost_usd=0.0)
    # (2 + 3 x 6) / 4: the request lost at its timeout has no time in the system to average.
    assert result.mean_latency_s == pytest.approx(5.0) and result.latency_p99_s == math.inf
    empty = Recorder(Slo(ttft_p99_ms=1000)).result(
        policy="p", description="", requests=0, duration_s=60.0, lost=0.0, never_started=0, streamed=True,
        ended_at=60.0, gpu_seconds=0.0, cost_usd=0.0)
    assert math.isnan(empty.mean_latency_s)


def test_one_replica_that_meets_the_target_at_no_judged_rate_is_bounded_by_the_lowest_judged_rate_it_misses(dev_on_code):
    recorded, planned, measured = dev_on_code
    alone = measured.fleet(1)
    # One L4 on the code mix: even the lowest rate a replay judges (1,000 requests in 8 h) misses.
    assert alone is not None and not alone.met and alone.missed_rps == LOWEST_JUDGED_RPS
    assert measured.replica_rps == LOWEST_JUDGED_RPS < measured.pooled_replica_rps
    duration = replay_duration_s(LOWEST_JUDGED_RPS)
    assert LOWEST_JUDGED_RPS * duration == pytest.approx(1_000)
    # The measurement's own draw, replayed on one replica at that rate.
    assert _attainment_on_fixed_fleet(planned, recorded, LOWEST_JUDGED_RPS, MIX_SEED, replicas=1) < attainment_target(
        planned.model.slo)


def test_each_fleet_is_measured_once_per_setup(monkeypatch):
    from components.planning import compare as compare_module

    _, (measured, trace) = _declared_code_trace(autoscaling={"max_replicas": 8})
    calls = []
    real = compare_module.mix_ceiling
    monkeypatch.setattr(compare_module, "mix_ceiling", lambda *a, **k: calls.append(k["replicas"]) or real(*a, **k))
    for rps in (0.3, 1.0, 2.5, 1.0, 0.3):
        measured.replicas_for(rps)
    rate = measured.replica_rps
    assert measured.replica_rps == rate and sorted(calls) == sorted(set(calls)) and 8 not in calls
    # A replaced setup starts without them: its own fleets, measured again, the same figures.
    again = replace(measured)
    assert again.replica_rps == rate and calls.count(1) == 2


def test_without_a_measured_mix_everything_reads_mu_slo():
    recorded = from_csv(DATA / "mooncake_conversation_sample.csv")
    spec = stack(with_model(eks_config(), 0, slo={"ttft_p99_ms": 1000, "tpot_p99_ms": 50}))
    unmet = with_mix_ceiling(setup(spec, spec.models[0], recorded.workload()), recorded)
    classifier = next(m for m in stack(eks_config()).models if m.runtime == "triton")
    triton = with_mix_ceiling(setup(stack(eks_config()), classifier), from_csv(CONVERSATION))
    for model_setup in (unmet, triton):
        mu = model_setup.capacity.requests_per_s
        assert model_setup.replica_rps == mu and model_setup.pooled_replica_rps == mu
        assert model_setup.replicas_for(1.0) is None and model_setup.fleet(1) is None


def test_scheduled_floors_on_a_recording_are_sized_by_the_fleets_measured_on_its_mix():
    _, (measured, trace) = _declared_code_trace(autoscaling={"max_replicas": 8})
    mu, clock = measured.capacity.requests_per_s, day_clock(trace)
    by_mu = hourly_floors(trace, clock, mu, 600.0, 1.0, 8)
    by_mix = hourly_floors(trace, clock, mu, 600.0, 1.0, 8, measured.replicas_for)
    # The code mix serves far less than μ_SLO says: the floors it needs are higher.
    assert all(m >= u for m, u in zip(by_mix, by_mu)) and sum(by_mix) > sum(by_mu)
    # And each is the fewest replicas whose measured ceiling covers the hour's load.
    assert hourly_floors(trace, clock, mu, 600.0, 1.0, 8, lambda rps: 7) == [7 if f else 0 for f in by_mu]
    assert hourly_floors(trace, clock, mu, 600.0, 1.0, 8, lambda rps: None) == by_mu
