"""Scheduled floors as KEDA cron triggers and the combined signal as scalingModifiers, each
ScaledObject validated strictly against KEDA 2.20.2's CRD in ../shared/schemas."""
import pytest

from components.compilers import metrics
from components.compilers.keda import cron, scaled_object
from components.compilers.rollout import served_versions
from tests.factories import manual_canary_of, model_of

SCHEDULE = {"timezone": "Europe/Berlin", "windows": [
    {"start": "07:30", "end": "20:00", "min_replicas": 7},
    {"start": "22:00", "end": "02:05", "min_replicas": 6},
]}
COMBINED = {"running_per_replica": 25.6, "queue_per_replica": 2}
WAITING = 'sum(vllm:num_requests_waiting{namespace="models",inferenceservice="llama-8b-v1"})'
RUNNING = 'sum(vllm:num_requests_running{namespace="models",inferenceservice="llama-8b-v1"})'


def _scaled_object(model, index=0):
    served = served_versions(model)[index]
    query = metrics.load(model.runtime, model.autoscaling.signal, metrics.selector("models", served.name))
    return scaled_object(served, query, None)


def _combined(**autoscaling):
    return model_of("prod", "llama-8b", autoscaling={"signal": None, "target": None, "combined": COMBINED, **autoscaling})


def test_each_window_is_a_cron_trigger_in_the_schedules_time_zone(crd_validator):
    manifest = _scaled_object(model_of("prod", "llama-8b", autoscaling={"schedule": SCHEDULE}))
    assert crd_validator(manifest) == []
    triggers = manifest["spec"]["triggers"]
    assert triggers[0]["type"] == "prometheus" and triggers[0]["metadata"]["query"] == WAITING
    assert triggers[1:] == [
        {"type": "cron", "name": "floor_0",
         "metadata": {"timezone": "Europe/Berlin", "start": "30 7 * * *", "end": "0 20 * * *", "desiredReplicas": "7"}},
        {"type": "cron", "name": "floor_1",
         "metadata": {"timezone": "Europe/Berlin", "start": "0 22 * * *", "end": "5 2 * * *", "desiredReplicas": "6"}},
    ]
    # The floor is a trigger, not the HPA's minimum: outside the windows the policy's own holds.
    assert manifest["spec"]["minReplicaCount"] == 5
    assert "scalingModifiers" not in manifest["spec"]["advanced"]


@pytest.mark.parametrize(("clock", "expression"), [("00:00", "0 0 * * *"), ("23:59", "59 23 * * *"), ("09:05", "5 9 * * *")])
def test_clock_times_become_five_field_cron_expressions(clock, expression):
    assert cron(clock) == expression


def test_a_canary_candidate_keeps_its_own_bounds_without_floors(crd_validator):
    model = manual_canary_of("prod", "llama-8b", autoscaling={"schedule": SCHEDULE})
    stable, candidate = _scaled_object(model, 0), _scaled_object(model, 1)
    assert [t["type"] for t in stable["spec"]["triggers"]] == ["prometheus", "cron", "cron"]
    assert [t["type"] for t in candidate["spec"]["triggers"]] == ["prometheus"]
    assert crd_validator(candidate) == []


def test_the_combined_signal_is_a_formula_over_two_named_triggers(crd_validator):
    manifest = _scaled_object(_combined())
    assert crd_validator(manifest) == []
    spec = manifest["spec"]
    names = [(t["name"], t["metadata"]["query"]) for t in spec["triggers"]]
    assert names == [("waiting", WAITING), ("running", RUNNING)]
    assert all(t["metadata"]["ignoreNullValues"] == "false" for t in spec["triggers"])
    assert spec["advanced"]["scalingModifiers"] == {
        "formula": "waiting / 2 + running / 25.6",
        "target": "1",
        "metricType": "AverageValue",
    }
    # Prometheus unreachable still holds what runs.
    assert spec["fallback"]["behavior"] == "currentReplicasIfHigher"


def test_floors_join_the_formula_as_a_maximum(crd_validator):
    manifest = _scaled_object(_combined(schedule=SCHEDULE))
    assert crd_validator(manifest) == []
    spec = manifest["spec"]
    assert [t["name"] for t in spec["triggers"]] == ["waiting", "running", "floor_0", "floor_1"]
    assert spec["advanced"]["scalingModifiers"]["formula"] == "max(waiting / 2 + running / 25.6, max(floor_0, floor_1))"


def test_one_floor_joins_the_formula_without_a_nested_max():
    one = {"timezone": "UTC", "windows": [SCHEDULE["windows"][0]]}
    spec = _scaled_object(_combined(schedule=one))["spec"]
    assert spec["advanced"]["scalingModifiers"]["formula"] == "max(waiting / 2 + running / 25.6, floor_0)"


def test_triton_runs_the_combined_signal_on_its_own_metrics(crd_validator):
    model = model_of("prod", "sentiment", autoscaling={"signal": None, "target": None, "combined": {"running_per_replica": 40, "queue_per_replica": 64}})
    manifest = _scaled_object(model)
    assert crd_validator(manifest) == []
    waiting, running = manifest["spec"]["triggers"]
    assert waiting["metadata"]["query"].startswith("sum(nv_inference_pending_request_count{")
    assert running["metadata"]["query"].startswith("sum(rate(nv_inference_request_duration_us{")


def test_weekday_windows_become_day_of_week_fields_and_a_night_window_ends_the_next_day(crd_validator):
    schedule = {"timezone": "Europe/Berlin", "windows": [
        {"start": "07:30", "end": "20:00", "min_replicas": 7, "days": ["mon", "tue", "wed", "thu", "fri"]},
        {"start": "22:00", "end": "02:05", "min_replicas": 6, "days": ["sat", "sun"]},
    ]}
    manifest = _scaled_object(model_of("prod", "llama-8b", autoscaling={"schedule": schedule}))
    assert crd_validator(manifest) == []
    # robfig/cron (KEDA): Sunday 0. Saturday and Sunday nights end on Sunday and Monday.
    assert [t["metadata"] for t in manifest["spec"]["triggers"][1:]] == [
        {"timezone": "Europe/Berlin", "start": "30 7 * * 1,2,3,4,5", "end": "0 20 * * 1,2,3,4,5", "desiredReplicas": "7"},
        {"timezone": "Europe/Berlin", "start": "0 22 * * 0,6", "end": "5 2 * * 0,1", "desiredReplicas": "6"},
    ]


@pytest.mark.parametrize(("weekdays", "expression"), [
    (None, "0 9 * * *"), ((0, 1, 2, 3, 4, 5, 6), "0 9 * * *"), ((6,), "0 9 * * 0"), ((0, 6), "0 9 * * 0,1")])
def test_weekdays_count_from_sunday_in_cron(weekdays, expression):
    assert cron("09:00", weekdays) == expression


def test_a_weekday_window_ending_at_midnight_ends_on_the_next_day():
    from components.compilers.sagemaker import aws_cron
    from components.intent.scheduled_floors import FloorWindow

    window = FloorWindow(start="18:00", end="00:00", min_replicas=3, days=["fri", "sun"])
    assert window.end_weekdays() == (0, 5)
    # Ending "at 00:00 on Friday" would hold the floor from Friday 18:00 to the next Friday.
    assert cron(window.end, window.end_weekdays()) == "0 0 * * 1,6"
    assert aws_cron(window.end, window.end_weekdays()) == "cron(0 0 ? * MON,SAT *)"
