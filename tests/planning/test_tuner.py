"""The tuner searches what the targets express for the cheapest policy meeting the SLO target on
every trace it is given; declared traffic replaces the relative default; the preview flags misses."""
import dataclasses

import pytest

from components.intent.autoscaling import AutoscalingPolicy
from components.intent.loading import SpecError
from components.planning.compare import compare, declared_setup, default_trace, setup, simulate
from components.planning.controllers import stack_policy
from components.planning.report import preview_section
from components.planning.tuner import beaten_by, policy_json, stack_file_lines, tune
from tests.planning.helpers import eks_config, sagemaker_config, stack, with_model


def test_the_tuner_meets_the_target_where_the_stack_policy_misses_and_beats_every_default():
    spec = stack(with_model(eks_config(), 0, autoscaling={"min_replicas": 1, "max_replicas": 3, "target": 8}))
    model_setup = setup(spec, spec.models[0])
    trace = default_trace(model_setup, "bursty", 900, seed=21)
    stress = default_trace(model_setup, "bursty", 900, seed=22)
    tuning = tune(model_setup, [trace, stress])
    assert tuning.current.attainment < 0.99 <= tuning.best.attainment
    assert len(tuning.best.results) == 2, "checked on the stress trace too"
    comparison = compare(model_setup, trace)
    for default in comparison.results[1:]:
        assert tuning.best.results[0].attainment >= default.attainment or (
            default.attainment >= 0.99 and tuning.best.gpu_hours < default.gpu_hours
        ), default.policy
    assert comparison.bound.feasible
    lines = stack_file_lines(tuning, "stacks/Pulumi.test.yaml")
    assert lines[0] == "# stacks/Pulumi.test.yaml, model llama, under autoscaling:"
    assert lines[-1].startswith("# monthly cost ")
    changed = tuning.changes()
    assert changed and all(f"{field}: " in "\n".join(lines) for field in changed)


def test_the_tuner_keeps_a_policy_that_already_meets_the_target_at_the_floor():
    spec = stack(with_model(eks_config(), 0, autoscaling={"min_replicas": 1, "max_replicas": 1}))
    model_setup = setup(spec, spec.models[0])
    trace = default_trace(model_setup, "steady", 600, seed=23)
    tuning = tune(model_setup, [trace])
    assert tuning.best.policy == tuning.current.policy and tuning.changes() == {}
    assert tuning.monthly_cost_delta_usd == 0


def test_sagemaker_suggestions_use_only_signals_sagemaker_publishes():
    spec = stack(sagemaker_config())
    model_setup = setup(spec, spec.models[0])
    trace = default_trace(model_setup, "bursty", 600, seed=24)
    tuning = tune(model_setup, [trace])
    assert tuning.best.policy.signal in ("concurrency", "requests_per_second")
    assert not tuning.best.policy.scale_to_zero
    AutoscalingPolicy.model_validate(policy_json(tuning.best.policy))


def test_declared_traffic_replaces_the_relative_default(tmp_path):
    config = with_model(eks_config(), 0, traffic={"peak_rps": 3, "shape": "bursty", "trough_share": 0.2,
                                                   "prompt_tokens": 512, "output_tokens": 128})
    spec = stack(config)
    model_setup, trace = declared_setup(spec, spec.models[0], 1800, 0)
    assert model_setup.workload.prompt_tokens == 512 and model_setup.workload.output_tokens == 128
    assert trace.name == "bursty 0.6 req/s, bursts to 3"
    _, cost = preview_section(spec)
    assert cost["models"]["llama"]["simulated"]["trace"] == "bursty 0.6 req/s, bursts to 3"


def test_a_declared_csv_trace_drives_the_preview_and_a_missing_one_is_named(tmp_path):
    path = tmp_path / "llama.csv"
    path.write_text("timestamp_s,prompt_tokens,output_tokens\n" + "".join(f"{t},300,60\n" for t in range(0, 600, 3)))
    spec = stack(with_model(eks_config(), 0, traffic={"csv": str(path)}))
    model_setup, trace = declared_setup(spec, spec.models[0], 1800, 0)
    assert trace.requests == 200 and model_setup.workload.prompt_tokens == 300
    missing = stack(with_model(eks_config(), 0, traffic={"csv": str(tmp_path / "gone.csv")}))
    text, _ = preview_section(missing)
    assert f"- llama: traffic.csv not replayed: {tmp_path / 'gone.csv'}: cannot read the trace" in text


def test_working_hours_apply_to_the_business_hours_shape_only_and_must_not_be_empty():
    with pytest.raises(SpecError) as caught:
        stack(with_model(eks_config(), 0, traffic={"peak_rps": 2, "shape": "diurnal", "opens": "08:00"}))
    assert "traffic.opens: opens applies to shape business_hours, not diurnal" in str(caught.value)
    with pytest.raises(SpecError) as caught:
        stack(with_model(eks_config(), 0, traffic={"peak_rps": 2, "shape": "business_hours", "opens": "08:00",
                                                  "closes": "08:00"}))
    assert "traffic.closes: closes (08:00) must differ from opens" in str(caught.value)
    with pytest.raises(SpecError) as caught:
        stack(with_model(eks_config(), 0, traffic={"peak_rps": 2, "shape": "business_hours", "opens": "8:00"}))
    assert "traffic.opens" in str(caught.value) and "HH:MM" in str(caught.value)
    with pytest.raises(SpecError) as caught:
        stack(with_model(eks_config(), 0, traffic={"csv": "traces/llama.csv", "closes": "17:00"}))
    assert "traffic.closes: closes describes generated traffic; a csv trace carries its own" in str(caught.value)
    spec = stack(with_model(eks_config(), 0, traffic={"peak_rps": 2, "shape": "business_hours", "opens": "22:00",
                                                     "closes": "06:00"}))
    assert (spec.models[0].traffic.opens, spec.models[0].traffic.closes) == ("22:00", "06:00")


def test_open_days_apply_to_business_hours_only_each_once_and_never_to_a_csv(monkeypatch):
    with pytest.raises(SpecError) as caught:
        stack(with_model(eks_config(), 0, traffic={"peak_rps": 2, "shape": "diurnal", "days": ["mon"]}))
    assert "traffic.days: days applies to shape business_hours, not diurnal" in str(caught.value)
    with pytest.raises(SpecError) as caught:
        stack(with_model(eks_config(), 0, traffic={"peak_rps": 2, "shape": "business_hours", "days": ["mon", "fri", "mon"]}))
    assert "traffic.days: each day once: mon repeated" in str(caught.value)
    with pytest.raises(SpecError) as caught:
        stack(with_model(eks_config(), 0, traffic={"peak_rps": 2, "shape": "business_hours", "days": []}))
    assert "traffic.days" in str(caught.value)
    with pytest.raises(SpecError) as caught:
        stack(with_model(eks_config(), 0, traffic={"peak_rps": 2, "shape": "business_hours", "days": ["monday"]}))
    assert "traffic.days[0]: Input should be 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun' (got 'monday')" in str(caught.value)
    with pytest.raises(SpecError) as caught:
        stack(with_model(eks_config(), 0, traffic={"csv": "traces/llama.csv", "days": ["mon"]}))
    assert "traffic.days: days describes generated traffic; a csv trace carries its own" in str(caught.value)
    spec = stack(with_model(eks_config(), 0, traffic={"peak_rps": 0.2, "shape": "business_hours", "days": ["sat", "sun"]}))
    assert spec.models[0].traffic.open_weekdays() == (5, 6)
    # The preview replays the first open day (a week would cost seven); make simulate the week.
    # Which trace the preview replays is the point here, not the replay: it is not run.
    from components.planning import report

    monkeypatch.setattr(report, "simulate", lambda *args, **kwargs: None)
    monkeypatch.setattr(report, "foresight", lambda *args, **kwargs: None)
    run = next(r for r in report.preview_runs(spec) if r.model.name == "llama")
    assert run.trace.name.endswith(", sat (an open day of the week)") and run.trace.duration_s == 86_400
    assert declared_setup(spec, spec.models[0], None, 0)[1].duration_s == 7 * 86_400


def test_traffic_needs_one_source_and_says_which_fields_do_not_apply():
    with pytest.raises(SpecError) as caught:
        stack(with_model(eks_config(), 0, traffic={"csv": "traces/llama.csv", "shape": "steady", "peak_rps": 2}))
    message = str(caught.value)
    assert "traffic.peak_rps: give either peak_rps (with its shape) or csv, not both and not neither" in message
    assert "traffic.shape: shape describes generated traffic; a csv trace carries its own" in message


def test_the_preview_flags_a_model_that_misses_its_slo_with_the_tuners_suggestion():
    # One replica with a high queue target cannot follow the default trace's bursts.
    spec = stack(with_model(eks_config(), 0, autoscaling={"min_replicas": 1, "max_replicas": 3, "target": 16}))
    text, cost = preview_section(spec)
    flag = next(line for line in text.splitlines() if line.startswith("- **llama misses its SLO**"))
    assert "target 99%" in flag and "make tune STACK=<stack> MODEL=llama" in flag
    assert "The tuner suggests `min_replicas: " in flag
    suggested = cost["models"]["llama"]["suggested_autoscaling"]
    assert suggested["min_replicas"] > 1


def _bursty_llama(max_replicas, duration_s=900):
    # A 500 ms TTFT objective: long prompts miss it now and then however many replicas run,
    # so attainment keeps rising with replicas up to max_replicas, just above the target.
    spec = stack(with_model(eks_config(), 0, slo={"ttft_p99_ms": 500, "tpot_p99_ms": 50},
                            autoscaling={"min_replicas": 1, "max_replicas": max_replicas}))
    model_setup = setup(spec, spec.models[0])
    return model_setup, [default_trace(model_setup, "bursty", duration_s, seed=71),
                         default_trace(model_setup, "bursty", duration_s, seed=72)]


def test_a_default_with_a_higher_attainment_is_matched_where_that_costs_at_most_the_cap():
    # 20 minutes: long enough that holding max_replicas still serves more requests in time.
    # One trace: the stress trace adds nothing to what is matched here and doubles the search.
    model_setup, traces = _bursty_llama(4, 1200)
    traces = traces[:1]
    plain = tune(model_setup, traces)
    assert plain.best.meets
    # A default as good as holding max_replicas all the time, at twice that price.
    held = simulate(model_setup, stack_policy(AutoscalingPolicy.model_validate(
        {**policy_json(plain.best.policy), "min_replicas": 4}), "eks"), traces[0])
    assert round(plain.best.own_attainment, 4) < round(held.attainment, 4)
    generous = dataclasses.replace(held, policy="KEDA queue default", gpu_hours=2 * held.gpu_hours)
    assert beaten_by(plain.best, [generous]) == [generous]

    matched = tune(model_setup, traces, defaults=[generous], oracle_gpu_hours=held.gpu_hours)
    assert matched.best.meets and beaten_by(matched.best, [generous]) == []
    assert round(matched.best.own_attainment, 4) >= round(held.attainment, 4)
    assert plain.best.gpu_hours < matched.best.gpu_hours <= 1.3 * held.gpu_hours

    # Where matching it costs more than 1.3 x the oracle, the cheapest policy meeting the target stands.
    capped = tune(model_setup, traces, defaults=[generous], oracle_gpu_hours=plain.best.gpu_hours / 1.3)
    assert capped.best.policy == plain.best.policy

    # A default that ties (same attainment, same GPU-hours) is beaten by one rounding step more.
    tie = dataclasses.replace(plain.best.results[0], policy="HPA on CPU")
    untied = tune(model_setup, traces, defaults=[tie])
    assert beaten_by(untied.best, [tie]) == []
    assert round(untied.best.own_attainment, 4) >= round(plain.best.own_attainment, 4) + 1e-4


def test_a_default_beats_a_policy_by_attainment_or_by_the_same_attainment_at_no_more_gpu_hours():
    model_setup, traces = _bursty_llama(4)
    evaluation = tune(model_setup, traces[:1], quick=True).current
    own = evaluation.results[0]
    missed = own.requests - own.good
    assert missed >= 100, "the stack policy misses some requests on this trace"

    def default(good_delta, gpu_delta):
        return dataclasses.replace(own, policy="HPA on CPU", good=own.good + good_delta, gpu_hours=own.gpu_hours + gpu_delta)

    assert beaten_by(evaluation, [default(0, 0.0)]) != [], "the same attainment at the same GPU-hours"
    assert beaten_by(evaluation, [default(0, 1e-3)]) == [], "the same attainment at more GPU-hours"
    assert beaten_by(evaluation, [default(missed // 2, 5.0)]) != [], "a higher attainment at any price"
    assert beaten_by(evaluation, [default(-missed, -0.5)]) == [], "a lower attainment, however cheap"


def test_the_search_spread_over_cores_finds_what_the_serial_search_finds(monkeypatch):
    import components.planning.tuner as tuner

    model_setup, traces = _bursty_llama(4)
    serial = tune(model_setup, traces)
    monkeypatch.setattr(tuner, "PARALLEL_MIN_ARRIVALS", 0)
    monkeypatch.setattr(tuner.os, "cpu_count", lambda: 2)
    spread = tune(model_setup, traces)
    assert spread.best.policy == serial.best.policy
    assert [r.good for r in spread.best.results] == [r.good for r in serial.best.results]
    assert spread.best.gpu_hours == serial.best.gpu_hours and spread.evaluated == serial.evaluated


def test_a_policy_meeting_a_defaults_bar_by_rounding_is_still_checked_on_the_stress_trace(monkeypatch):
    # A bar is met at four decimals: 0.996594 meets 0.9966. It used to be compared unrounded
    # after the model's own trace, so the stress trace was never replayed and a policy
    # checked on one trace was recommended as meeting the target on both.
    from components.planning import tuner as tuner_module
    from components.planning.recorder import Result
    from components.planning.simulator import Series

    spec = stack(eks_config())
    model_setup = setup(spec, spec.models[0])
    trace = default_trace(model_setup, "bursty", 300, seed=1)
    stress = default_trace(model_setup, "bursty", 300, seed=2)
    own = {"value": 0.996594}
    asked = []

    def replay(setup_, controller, replayed, abandon_below=None):
        asked.append((replayed is trace, abandon_below))
        good = round((own["value"] if replayed is trace else 0.995) * 1_000_000)
        return Result("p", "", 1_000_000, good, 1_000_000, 0, 300.0, 0.1, 0.2, 1.0, 1.0, 1.0, 1, 1.0, Series())

    monkeypatch.setattr(tuner_module, "simulate", replay)
    search = tuner_module._Search(model_setup, [trace, stress])
    search.bar = 0.9966
    met = search.evaluate(model_setup.model.autoscaling)
    assert met.meets and len(met.results) == 2
    # Never told to stop below a figure that would still round to the bar.
    assert all(below is None or below < 0.99655 for is_own, below in asked if is_own)

    own["value"] = 0.99649  # rounds to 0.9965: misses the bar, the stress trace is not needed
    search = tuner_module._Search(model_setup, [trace, stress])
    search.bar = 0.9966
    missed = search.evaluate(model_setup.model.autoscaling)
    assert not missed.meets and len(missed.results) == 1


def test_a_queue_of_a_whole_batch_holds_a_floor_that_serves_the_trace_where_half_a_batch_scales_out():
    """staging llama-8b on the Azure conversation sample at 0.7 x its mix's ceiling: long
    prompts bunch, the queue passes half a batch per replica, and a third replica is bought
    that the target did not need."""
    from pathlib import Path

    from components.compilers.keda import replica_concurrency
    from components.intent.loading import parse_stack_config
    from components.planning.compare import setup, simulate
    from components.planning.controllers import day_clock, stack_policy
    from components.planning.recorded import from_csv
    from components.planning.traces import rescaled, reshuffled
    from components.planning.tuner import _policy, _shapes
    from components.preview.stackfile import read_stack_file

    path = Path(__file__).resolve().parents[2] / "stacks" / "Pulumi.staging.yaml"
    spec = parse_stack_config(read_stack_file(path, str(path)), str(path))
    model = next(m for m in spec.models if m.name == "llama-8b")
    recorded = from_csv(Path(__file__).parent / "data" / "azure_llm_2023_conv_sample.csv")
    model_setup = setup(spec, model, recorded.workload())
    trace = rescaled(recorded, 8.4, 0)
    traces = (trace, reshuffled(trace, 1000))
    slots = replica_concurrency(model)
    assert slots == 32

    def replayed(queue):
        policy = _policy(model.autoscaling, signal="queue_depth", target=queue, min_replicas=2, warm_pool=0)
        return [simulate(model_setup, stack_policy(policy, "eks", day_clock(t)), t) for t in traces]

    half, whole = replayed(slots / 2), replayed(float(slots))
    assert all(r.attainment >= 0.99 for r in whole + half)
    assert whole[0].gpu_hours < 0.9 * half[0].gpu_hours
    assert float(slots) in {s["target"] for s in _shapes(model_setup) if s.get("signal") == "queue_depth"}


def test_a_policy_fewer_defaults_beat_replaces_a_stack_policy_they_beat_even_at_more_gpu_hours():
    from components.intent.autoscaling import AutoscalingPolicy
    from components.planning.recorder import Result
    from components.planning.simulator import Series
    from components.planning.tuner import Evaluation, _suggested

    def result(name, attainment, gpu_hours):
        return Result(name, "", 10_000, round(attainment * 10_000), 10_000, 0, 3600.0, 0.1, 0.2, 1.0, gpu_hours, gpu_hours,
                      2, 2.0, Series())

    base = AutoscalingPolicy(signal="queue_depth", target=16, min_replicas=2, max_replicas=3)
    other = AutoscalingPolicy(signal="queue_depth", target=4, min_replicas=2, max_replicas=3)
    stack_policy = Evaluation(base, (result("stack", 0.9920, 2.29), result("stack", 0.9920, 2.29)), 0.99)
    higher = Evaluation(other, (result("rec", 0.9985, 2.51), result("rec", 0.9985, 2.51)), 0.99)
    holding_the_floor = [result("HPA on CPU", 0.9920, 1.95)]
    # HPA ties the stack's attainment at fewer GPU-hours: the policy no default beats is suggested.
    assert _suggested(higher, stack_policy, base, holding_the_floor) is higher
    # With no default beating the stack's policy, the costlier one is not worth suggesting.
    assert _suggested(higher, stack_policy, base, [result("HPA on CPU", 0.9900, 1.95)]) is stack_policy
    # Beaten by fewer of the defaults is better; beaten by the same ones is no reason to change.
    over_provisioned = result("SageMaker invocations", 0.9999, 2.9)
    assert _suggested(higher, stack_policy, base, [*holding_the_floor, over_provisioned]) is higher
    assert _suggested(higher, stack_policy, base, [over_provisioned]) is stack_policy




def _stubbed_replays(monkeypatch, goods):
    """Replays stubbed: `goods(min_replicas, trace_index)` requests in a million within the
    SLO; each replica held costs 0.5 GPU-hours. The stack's policy holds max_replicas (3), so
    anything else the tuner returns is its suggestion."""
    from components.planning import tuner as tuner_module
    from components.planning.recorder import Result
    from components.planning.simulator import Series

    spec = stack(with_model(eks_config(), 0, autoscaling={"min_replicas": 3, "max_replicas": 3}))
    model_setup = setup(spec, spec.models[0])
    traces = [default_trace(model_setup, "bursty", 300, seed=1), default_trace(model_setup, "bursty", 300, seed=2)]

    def replay(setup_, policy, replayed, abandon_below=None):
        m = policy.min_replicas
        good = goods(m, traces.index(replayed))
        return Result("p", "", 1_000_000, good, 1_000_000, 0, 300.0, 0.1, 0.2, 1.0, 0.5 * m, m, m, 1.0, Series())

    monkeypatch.setattr(tuner_module, "stack_policy_on", lambda policy, target, replayed: policy)
    monkeypatch.setattr(tuner_module, "simulate", replay)
    return model_setup, traces, replay


def test_where_nothing_meets_the_target_the_cheapest_policy_doing_as_well_on_every_trace_is_suggested(monkeypatch):
    """dev llama-8b on a ServeGen reasoning day: 5 % of prompts are past max_model_len, so no
    policy reaches 99 %. Every floor reached 94.93 % at four decimals, a few requests more the
    more replicas ran, and the search suggested max_replicas held all day (48.00 GPU-h) where
    SageMaker invocations' default reached the same 94.93 % at 38.70. The stress trace (another
    seed) does a little worse; what it must reach is what the best policy reaches there."""
    model_setup, traces, replay = _stubbed_replays(
        monkeypatch, lambda m, trace: (949_300 if trace == 0 else 949_200) + m)
    holding_three = model_setup.model.autoscaling.model_copy(update={"min_replicas": 3})
    cheaper_default = dataclasses.replace(replay(None, holding_three, traces[0]), policy="SageMaker invocations",
                                          gpu_hours=1.2)
    tuning = tune(model_setup, traces, defaults=[cheaper_default])
    best = tuning.best
    assert not best.meets, "the report still says no policy meets the target"
    assert best.policy.min_replicas == 1 and best.gpu_hours == 0.5
    assert len(best.results) == 2, "replayed on the stress trace too"
    assert [round(r.attainment, 4) for r in best.results] == [0.9493, 0.9492]
    assert beaten_by(best, [cheaper_default]) == []


def test_where_only_the_stress_trace_misses_the_model_trace_still_holds_the_target(monkeypatch):
    # Three replicas meet 99 % on the model's trace; the stress trace stays at 97 % whatever the
    # floor. Fewer replicas reach 97 % there too, but miss 99 % on the model's own traffic.
    own = {1: 975_000, 2: 985_000, 3: 993_000}
    model_setup, traces, _ = _stubbed_replays(monkeypatch, lambda m, trace: own[m] if trace == 0 else 970_000)
    best = tune(model_setup, traces).best
    assert not best.meets
    assert best.policy.min_replicas == 3
    assert best.own_attainment >= 0.99 and round(best.attainment, 4) == 0.97



def test_where_nothing_meets_the_target_a_default_is_matched_at_no_more_than_it_pays(monkeypatch):
    # Only the stress trace misses (97 % at any floor), so the oracle prices nothing. A default
    # reaching more on the model's trace is matched only at no more GPU-hours than it pays.
    own = {1: 993_000, 2: 995_000, 3: 997_000}
    model_setup, traces, replay = _stubbed_replays(monkeypatch, lambda m, trace: own[m] if trace == 0 else 970_000)
    better = replay(None, model_setup.model.autoscaling.model_copy(update={"min_replicas": 3}), traces[0])
    thrifty = dataclasses.replace(better, policy="SageMaker invocations", gpu_hours=1.0)
    assert tune(model_setup, traces, defaults=[thrifty]).best.policy.min_replicas == 1
    generous = dataclasses.replace(better, policy="SageMaker invocations", gpu_hours=2.0)
    assert tune(model_setup, traces, defaults=[generous]).best.policy.min_replicas == 3
