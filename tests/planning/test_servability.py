"""Requests no replica count serves within the SLO: judged by the simulator's own lone
request, and turned into the oracle's "infeasible at any replica count"."""
from components.planning.compare import compare, foresight, setup, simulate
from components.planning.controllers import Schedule
from components.planning.report import preview_section, tuning_table
from components.planning.results import model_json
from components.planning.servability import unservable
from components.planning.traces import Trace, steady
from components.planning.tuner import tune
from tests.planning.helpers import eks_config, sagemaker_config, stack, with_model


def _setup(config):
    spec = stack(config)
    return setup(spec, spec.models[0])


def _lone(prompt, output=4, cached=None):
    return Trace("lone", 60.0, (0.0,), (prompt,), (output,), cached=None if cached is None else (cached,))


def _replayed_alone(model_setup, trace):
    """The request replayed on one idle replica that is up from the start."""
    return simulate(model_setup, Schedule((1,), 60.0), trace, instant=True).attainment


def test_the_longest_prompt_that_meets_ttft_alone_is_where_the_simulator_draws_the_line():
    model_setup = _setup(with_model(eks_config(), 0, slo={"ttft_p99_ms": 500, "tpot_p99_ms": 50}))
    limit = unservable(model_setup, _lone(100)).ttft_prompt_limit
    assert limit is not None and 1_000 < limit < 8_000
    at, above = unservable(model_setup, _lone(limit)), unservable(model_setup, _lone(limit + 1))
    assert at.missed_any == 0 and above.missed == {"ttft": 1, "tpot": 0, "latency": 0}
    # The replay agrees at the same boundary: one token longer and the lone request misses.
    assert _replayed_alone(model_setup, _lone(limit)) == 1.0
    assert _replayed_alone(model_setup, _lone(limit + 1)) == 0.0
    # A cached prefix is not computed: the same long prompt meets it when its prefix is a hit.
    assert unservable(model_setup, _lone(limit + 500, cached=600)).missed_any == 0


def test_outputs_too_long_for_the_end_to_end_objective_alone_are_counted_and_bounded():
    model_setup = _setup(with_model(sagemaker_config(), 0, slo={"ttft_p99_ms": 2500, "latency_p99_ms": 20_000}))
    limit = unservable(model_setup, _lone(1024)).latency_output_limit
    assert limit is not None and limit > 10
    # The limit is stated for a prompt of the workload's mean length (1,024 tokens here).
    assert model_setup.workload.prompt_tokens == 1024
    assert unservable(model_setup, _lone(1024, limit)).missed_any == 0
    assert unservable(model_setup, _lone(1024, limit + 1)).missed["latency"] == 1
    assert _replayed_alone(model_setup, _lone(1024, limit - 2)) == 1.0
    assert _replayed_alone(model_setup, _lone(1024, limit + 3)) == 0.0


def test_more_unservable_requests_than_the_target_allows_make_the_oracle_say_no_replica_count_helps():
    config = with_model(eks_config(), 0, slo={"ttft_p99_ms": 500, "tpot_p99_ms": 50})
    model_setup = _setup(config)
    limit = unservable(model_setup, _lone(100)).ttft_prompt_limit
    # A light load (a fraction of one replica) where every 50th prompt is too long alone: 2 %.
    base = steady(0.3 * model_setup.capacity.requests_per_s, 1800, seed=3)
    prompts = tuple(limit + 200 if i % 50 == 0 else 400 for i in range(len(base.arrivals)))
    trace = Trace("two per cent too long", base.duration_s, base.arrivals, prompts, tuple(64 for _ in prompts))
    alone = unservable(model_setup, trace)
    assert abs(alone.share - 0.02) < 0.001 and alone.blocks(0.99)
    comparison = compare(model_setup, trace)
    bound = comparison.bound
    assert not bound.feasible and bound.infeasible_because == "slo"
    # Even max_replicas all the time cannot serve them: attainment stays at most 98 %.
    assert bound.result.attainment <= 1 - alone.share + 1e-9
    tuning = tune(model_setup, [trace], quick=True, defaults=comparison.results[1:])
    text = tuning_table(tuning, comparison)
    share = f"{alone.share:.1%}"
    assert f"oracle: infeasible at any replica count: {share} of requests miss the SLO even alone on an idle replica" in text
    assert f"TTFT ≤ 500 ms (prompts above {limit:,} tokens): {share}" in text
    assert "not the autoscaling" in text
    oracle = model_json(comparison, tuning)["oracle"]
    assert oracle["infeasible_because"] == "slo" and oracle["unservable_share"] == round(alone.share, 4)

    # At every 200th prompt (0.5 %) the target is within reach again: the verdict follows the load.
    rare = tuple(limit + 200 if i % 200 == 0 else 400 for i in range(len(base.arrivals)))
    fewer = Trace("half a per cent too long", base.duration_s, base.arrivals, rare, tuple(64 for _ in rare))
    assert not unservable(model_setup, fewer).blocks(0.99)
    assert foresight(model_setup, fewer).infeasible_because is None


def test_a_load_beyond_max_replicas_is_infeasible_because_of_max_replicas_not_the_slo():
    model_setup = _setup(eks_config())
    bound = foresight(model_setup, steady(1.6 * model_setup.ceiling_rps, 900, seed=13))
    assert not bound.feasible and bound.infeasible_because == "max_replicas"
    assert bound.unservable is not None and bound.unservable.share < 0.01


def test_prompts_of_max_model_len_or_more_are_counted_as_refused():
    model_setup = _setup(eks_config())
    trace = Trace("long", 60.0, (0.0, 1.0, 2.0), (8192, 9000, 100), (10, 10, 10))
    assert unservable(model_setup, trace).refused == 2


def test_the_preview_says_no_autoscaling_meets_an_slo_the_requests_cannot_meet_alone():
    # A 10 s end-to-end objective on the default trace's lognormal outputs: some outputs are
    # too long to finish in time even alone.
    config = with_model(sagemaker_config(), 0, slo={"ttft_p99_ms": 2500, "latency_p99_ms": 10_000})
    text, cost = preview_section(stack(config))
    flag = next(line for line in text.splitlines() if line.startswith("- **llama misses its SLO**"))
    assert "No autoscaling can: " in flag and "miss it even alone on an idle replica (latency ≤ 10000 ms" in flag
    assert "The tuner suggests" not in flag
    assert cost["models"]["llama"]["simulated"]["unservable_share"] > 0.01


def test_on_the_mooncake_sample_long_prompts_rule_out_any_replica_count_and_prefix_hits_save_some():
    import dataclasses
    from pathlib import Path

    from components.planning.recorded import from_csv
    from components.planning.traces import rescaled

    recorded = from_csv(Path(__file__).parent / "data" / "mooncake_conversation_sample.csv")
    assert recorded.cached is not None and recorded.workload().prompt_tokens > 12_000
    config = with_model(eks_config(), 0, slo={"ttft_p99_ms": 1000, "tpot_p99_ms": 50},
                        vllm={"max_model_len": 32768})
    spec = stack(config)
    model_setup = setup(spec, spec.models[0], recorded.workload())
    trace = rescaled(recorded, 0.5 * model_setup.ceiling_rps, 0)
    alone = unservable(model_setup, trace)
    assert alone.blocks(0.99) and alone.missed["ttft"] == alone.missed_any
    # Without its prefix-cache hits the same trace has more prompts too long to prefill in time.
    uncached = unservable(model_setup, dataclasses.replace(trace, cached=None))
    assert uncached.missed_any > alone.missed_any
    # Prompts beyond a context of 32,768 tokens are what vLLM would refuse.
    assert 0 < alone.refused == sum(1 for p in trace.prompts if p >= 32768)
    bound = foresight(model_setup, trace)
    assert bound.infeasible_because == "slo" and bound.result.attainment <= 1 - alone.share + 1e-9


def test_a_prompt_of_max_model_len_or_more_is_refused_by_the_replay_and_counts_as_failed():
    import math

    model_setup = _setup(eks_config())
    assert model_setup.model.vllm.max_model_len == 8192
    # One token below the context is served (its output cut to fit); at the context or past it, refused.
    trace = Trace("at the context", 60.0, (0.0, 1.0, 2.0, 3.0), (100, 8192, 9000, 8191), (10, 10, 10, 5))
    result = simulate(model_setup, Schedule((1,), 60.0), trace, instant=True)
    assert result.refused == 2 and result.good == 2 and result.requests == 4 and result.attainment == 0.5
    # A refusal is a failure, not a latency: nothing timed out and the percentiles stay finite.
    assert result.timed_out == 0 and math.isfinite(result.ttft_p99_s) and math.isfinite(result.latency_p99_s)
    alone = unservable(model_setup, trace)
    assert alone.refused == 2 and alone.missed_any == 0 and alone.share == 0.5 and alone.blocks(0.99)
    assert "prompts of max_model_len tokens or more, which vLLM refuses: 50.0%" in alone.reason(model_setup.model.slo)


def test_a_recommendation_past_the_cap_says_whether_the_cold_chain_or_the_reaction_is_the_gap():
    from components.planning.report import _gap_advice
    from components.planning.traces import bursty

    model_setup = _setup(eks_config())
    comparison = compare(model_setup, bursty(0.3 * model_setup.ceiling_rps, 0.9 * model_setup.ceiling_rps, 600, seed=5))
    chain = f"{model_setup.timings.cold_s:.0f} s cold chain is what costs"
    # Just past the cap, foresight with the real start is out of reach for any policy.
    assert chain in _gap_advice(comparison, 1.31)
    # At the cap it is not: the gap is the reaction, which floors ahead of the clock can take.
    at_cap = _gap_advice(comparison, 1.30)
    assert chain not in at_cap and "needs only 1.30x the oracle" in at_cap and "scheduled floors" in at_cap


def test_a_stress_trace_no_policy_within_max_replicas_meets_is_named_as_what_fails():
    config = with_model(eks_config(), 0, autoscaling={"min_replicas": 1, "max_replicas": 1})
    model_setup = _setup(config)
    mu = model_setup.capacity.requests_per_s
    light, heavy = steady(0.5 * mu, 300, seed=21), steady(3.0 * mu, 300, seed=22)
    comparison = compare(model_setup, light)
    assert comparison.bound.feasible
    tuning = tune(model_setup, [light, heavy], defaults=comparison.results[1:], oracle_gpu_hours=comparison.oracle.gpu_hours)
    assert not tuning.best.meets and tuning.best.own_attainment >= 0.99 > tuning.best.attainment
    text = tuning_table(tuning, comparison)
    assert f"the stress trace is what fails: the best policy reaches {tuning.best.attainment:.1%} there" in text
    assert "max_replicas (1) searched" in text and "gap:" not in text
