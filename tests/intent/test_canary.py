import pytest

from components.intent.canary import CanaryPolicy, Gate
from tests.intent.helpers import errors_of

CANARY = {
    "version": "v2",
    "source": "s3://bucket/model/v2/",
    "steps": [10, 50, 100],
    "traffic_percent": 10,
    "gates": [{"metric": "error_rate", "max_value": 0.02}],
}


def test_a_valid_canary():
    canary = CanaryPolicy.model_validate(CANARY)
    assert canary.rollback_on_breach is True
    assert canary.steps == [10, 50, 100]


def test_steps_must_rise():
    errors = errors_of(CanaryPolicy, {**CANARY, "steps": [10, 10, 100]})
    assert errors == {("steps",): "steps must rise strictly; got [10, 10, 100]"}


def test_steps_must_end_at_100():
    errors = errors_of(CanaryPolicy, {**CANARY, "steps": [10, 50], "traffic_percent": 10})
    assert errors == {("steps",): "the last step must be 100 so the rollout can finish; got 50"}


def test_current_traffic_must_be_a_step_or_zero():
    errors = errors_of(CanaryPolicy, {**CANARY, "traffic_percent": 25})
    assert errors == {
        ("traffic_percent",): "traffic_percent must be 0 (dark or rolled back) or one of the steps [10, 50, 100]; got 25"
    }


@pytest.mark.parametrize("percent", [0, 10, 50, 100])
def test_rollback_and_every_step_are_one_line_changes(percent):
    assert CanaryPolicy.model_validate({**CANARY, "traffic_percent": percent}).traffic_percent == percent


def test_gate_needs_a_threshold():
    errors = errors_of(Gate, {"metric": "latency_p99"})
    assert errors == {("max_value",): "a gate needs max_value, max_ratio_to_stable or both"}


def test_error_rate_is_a_ratio():
    errors = errors_of(Gate, {"metric": "error_rate", "max_value": 5})
    assert errors == {("max_value",): "error_rate is a ratio between 0 and 1; got 5.0"}


def test_one_gate_per_metric():
    gates = [{"metric": "error_rate", "max_value": 0.01}, {"metric": "error_rate", "max_ratio_to_stable": 2}]
    errors = errors_of(CanaryPolicy, {**CANARY, "gates": gates})
    assert errors == {("gates",): "one gate per metric; repeated: error_rate"}


def test_a_canary_without_gates_is_rejected():
    errors = errors_of(CanaryPolicy, {**CANARY, "gates": []})
    assert errors == {("gates",): "List should have at least 1 item after validation, not 0"}
