"""A replay asked to stop below a share stops once its misses make that share unreachable, and
a replay that reaches the share is the full replay to the last digit: the tuner and the oracle
cut failing candidates short without changing what they report."""
from components.planning.compare import setup, simulate
from components.planning.controllers import stack_policy
from components.planning.traces import steady
from tests.planning.helpers import eks_config, stack


def _llama():
    spec = stack(eks_config())
    return setup(spec, spec.models[0])


def _replay(model_setup, trace, below=None):
    policy = stack_policy(model_setup.model.autoscaling, model_setup.target)
    return simulate(model_setup, policy, trace, abandon_below=below)


def test_an_overloaded_replay_stops_long_before_the_trace_ends():
    model_setup = _llama()
    trace = steady(1.6 * model_setup.ceiling_rps, 1800, model_setup.workload, seed=61)
    full = _replay(model_setup, trace)
    cut = _replay(model_setup, trace, below=0.99)
    assert full.attainment < 0.99 and not full.abandoned
    assert cut.abandoned and cut.attainment < 0.99
    assert len(cut.series.t) < 0.5 * len(full.series.t)


def test_a_replay_that_reaches_the_share_is_the_full_replay():
    model_setup = _llama()
    trace = steady(0.2 * model_setup.ceiling_rps, 900, model_setup.workload, seed=62)
    full = _replay(model_setup, trace)
    assert full.attainment >= 0.99
    cut = _replay(model_setup, trace, below=0.99)
    assert not cut.abandoned
    assert (cut.good, cut.gpu_hours, cut.cost_usd, cut.ttft_p99_s) == (full.good, full.gpu_hours, full.cost_usd, full.ttft_p99_s)


def test_the_share_a_replay_reaches_exactly_is_not_abandoned_and_one_request_more_is():
    model_setup = _llama()
    # Just past what max_replicas serve: some requests finish late, most in time.
    trace = steady(1.05 * model_setup.ceiling_rps, 900, model_setup.workload, seed=63)
    full = _replay(model_setup, trace)
    assert 0 < full.attainment < 1 and full.timed_out == 0
    at_limit = _replay(model_setup, trace, below=full.attainment)
    assert not at_limit.abandoned and at_limit.good == full.good
    past_limit = _replay(model_setup, trace, below=(full.good + 1) / full.requests)
    assert past_limit.abandoned and past_limit.attainment < (full.good + 1) / full.requests
