"""Idle seconds skipped (Simulation's skip_idle): the same result to the last bit, far fewer
controller calls.

Each case replays a sparse recording (bursts minutes or hours apart, a wall clock that opens
at a fractional second so floor windows and scrape times fall between whole minutes) once
second by second and once skipping, and compares every field of the two results, series
included. Between them they cover every controller (HPA on each signal, scale to zero with
its idle timeout, scheduled floors, warm-pool placeholders, target tracking with scheduled
actions, the oracle's schedule), both fleets and both server models.
"""
from __future__ import annotations

import random
from typing import Any, Callable

import pytest

from components.intent.scheduled_floors import MINUTES_PER_DAY
from components.planning.compare import opening_load, setup
from components.planning.controllers import DayClock, Schedule, baselines, scheduled_floor, stack_policy_on
from components.planning.simulator import Simulation
from components.planning.traces import Trace, as_fluid
from tests.planning.helpers import eks_config, sagemaker_config, sparse, stack, with_model

# The sparse trace opens on Monday 06:00:17.25 UTC: these floors open two and five hours in.
FLOORS = {"timezone": "UTC", "windows": [
    {"start": "08:00", "end": "09:30", "min_replicas": 2},
    {"start": "11:00", "end": "11:45", "min_replicas": 3, "days": ["mon"]},
]}


def _replay(config: dict[str, Any], index: int, controller: Callable[[Any, Trace], Any], trace: Trace,
            instant: bool = False, skip: bool = True, timing_scale: float = 1.0):
    spec = stack(config)
    model_setup = setup(spec, spec.models[index], timing_scale=timing_scale)
    return Simulation(
        model_setup.model, model_setup.target, controller(model_setup, trace), trace, model_setup.service,
        model_setup.timings, model_setup.usd_per_replica_hour, model_setup.usd_per_node_hour, pool=model_setup.pool,
        node_gpus=model_setup.node_gpus, instant=instant, workload=model_setup.workload,
        opening=opening_load(model_setup, trace), skip_idle=skip,
    ).run()


def _stack_policy(model_setup, trace):
    return stack_policy_on(model_setup.model.autoscaling, model_setup.target, trace)


def _default(name: str):
    def make(model_setup, trace):
        policy = model_setup.model.autoscaling
        return next(c for c in baselines(policy, model_setup.capacity.requests_per_s) if c.name == name)

    return make


def _oracle_like(model_setup, trace):
    rng = random.Random(2)
    return Schedule(tuple(rng.choice([0, 0, 0, 1, 2]) for _ in range(int(trace.duration_s // 60) + 1)), 60.0)


LLAMA_FLOORS = {"max_replicas": 4, "schedule": FLOORS}
CASES = {
    "eks queue depth": (eks_config(), 0, _stack_policy, False),
    "eks scale to zero with floors": (
        with_model(eks_config(), 0, autoscaling={**LLAMA_FLOORS, "scale_to_zero": True, "idle_timeout_s": 120}),
        0, _stack_policy, False),
    "eks concurrency, warm pool": (
        with_model(eks_config(), 0, autoscaling={"signal": "concurrency", "target": 3, "warm_pool": 1}),
        0, _stack_policy, False),
    "eks requests per second, floors": (
        with_model(eks_config(), 0, autoscaling={**LLAMA_FLOORS, "signal": "requests_per_second", "target": 0.05}),
        0, _stack_policy, False),
    "hpa on cpu": (eks_config(), 0, _default("HPA on CPU"), False),
    "sagemaker invocations default": (eks_config(), 0, _default("SageMaker invocations"), False),
    "keda queue default": (eks_config(), 0, _default("KEDA queue default"), False),
    "sagemaker target tracking with scheduled actions": (
        with_model(sagemaker_config(), 0, autoscaling=LLAMA_FLOORS), 0, _stack_policy, False),
    "oracle schedule, instant fleet": (eks_config(), 0, _oracle_like, True),
    "sagemaker schedule": (sagemaker_config(), 0, _oracle_like, False),
}


def _same(skipped, full) -> bool:
    """Equal in every field, and the series hold the same types (an int where the loop
    writes a float compares equal, but is not what it writes)."""
    def types(result):
        return {name: [type(v) for v in values] for name, values in vars(result.series).items()}

    return skipped == full and types(skipped) == types(full)


@pytest.mark.parametrize("name", sorted(CASES))
def test_skipping_idle_seconds_changes_no_result(name):
    config, index, controller, instant = CASES[name]
    trace = sparse()
    skipped = _replay(config, index, controller, trace, instant, skip=True)
    full = _replay(config, index, controller, trace, instant, skip=False)
    assert skipped.requests > 50 and skipped.completed > 0
    assert _same(skipped, full)


def test_requests_dropped_at_their_timeout_still_count_as_activity_in_the_next_second():
    # A cold chain past the proxies' timeout: requests that woke the model from zero give up
    # before it serves. The second after they are dropped still shows them waiting, and
    # KEDA's idle timeout counts from that second (found on prod's llama-405b, 2 x p5).
    config = with_model(eks_config(), 0, autoscaling={"scale_to_zero": True, "idle_timeout_s": 120})
    trace = sparse()
    skipped, full = (_replay(config, 0, _stack_policy, trace, skip=skip, timing_scale=2.0) for skip in (True, False))
    assert full.timed_out > 0
    assert _same(skipped, full)


def test_skipping_idle_seconds_changes_no_triton_result():
    # The fluid replay: an intensity with load in a few seconds, the rest zero.
    config = with_model(eks_config(), 1, autoscaling={"scale_to_zero": True, "idle_timeout_s": 300})
    trace = as_fluid(sparse(4 * 3600, seed=9))
    results = [_replay(config, 1, _stack_policy, trace, skip=skip) for skip in (True, False)]
    assert results[0].completed > 0
    assert _same(*results)


def test_a_sparse_day_runs_the_controller_at_its_wake_times_only():
    spec = stack(eks_config())
    model_setup = setup(spec, spec.models[0])
    trace = sparse(86_400, seed=5)
    calls = {True: 0, False: 0}
    for skip in (True, False):
        controller = _default("KEDA queue default")(model_setup, trace)
        decide = controller.decide

        def counted(probe, current, decide=decide, skip=skip):
            calls[skip] += 1
            return decide(probe, current)

        controller.decide = counted
        Simulation(
            model_setup.model, "eks", controller, trace, model_setup.service, model_setup.timings,
            model_setup.usd_per_replica_hour, model_setup.usd_per_node_hour, pool=model_setup.pool,
            node_gpus=model_setup.node_gpus, skip_idle=skip,
        ).run()
    assert calls[False] >= 86_400
    # Its HPA syncs every 15 s: a few more calls around each burst, none in between.
    assert calls[True] < 86_400 / 12


@pytest.mark.parametrize("start_minute", [0.0, 479.2875, 1439.99])
def test_a_floor_holds_until_the_second_its_skip_ends(start_minute):
    policy = stack(with_model(eks_config(), 0, autoscaling=LLAMA_FLOORS)).models[0].autoscaling
    clock = DayClock(start_minute=start_minute)
    floor = scheduled_floor(policy, clock)
    assert floor is not None
    for t in range(0, 6 * 3600, 7):
        until = floor.steady_until(t)
        assert all(floor(s) == floor(t) for s in range(t, int(until)))
        # Windows change on whole minutes: a skip reaches the next one, less the margin
        # and the clock's rounding.
        next_minute = next(s for s in range(t + 1, t + 62) if int(clock.minute(s)) != int(clock.minute(t)))
        assert next_minute - 2 <= until <= next_minute


def test_a_generated_day_s_floor_steps_on_its_own_minutes():
    # A generated daily cycle laid over 1,440 s: a minute of its day is one second.
    policy = stack(with_model(eks_config(), 0, autoscaling=LLAMA_FLOORS)).models[0].autoscaling
    floor = scheduled_floor(policy, DayClock(day_s=MINUTES_PER_DAY))
    assert floor is not None
    assert floor(8 * 60) == 2 and floor(8 * 60 - 1) == 0
    assert floor.steady_until(8 * 60 - 1) == 8 * 60 - 1
