"""Scheduled floors and the combined signal in the AutoscalingPolicy: every rule at its limit,
with the exact message a stack file author reads."""
import pytest

from components.intent.autoscaling import AutoscalingPolicy
from components.intent.loading import SpecError
from components.intent.scheduled_floors import MAX_WINDOWS, FloorWindow, ScheduledFloors
from tests.intent.helpers import errors_of
from tests.planning.helpers import sagemaker_config, stack, with_model

BOUNDS = {"min_replicas": 2, "max_replicas": 6}


def _policy(*windows, timezone="Europe/Berlin", **changes):
    schedule = {"timezone": timezone, "windows": [dict(zip(("start", "end", "min_replicas"), w)) for w in windows]}
    return {**BOUNDS, **changes, "schedule": schedule}


def test_a_valid_schedule_gives_its_floor_by_minute_of_day():
    policy = AutoscalingPolicy.model_validate(_policy(("07:30", "20:00", 5), ("22:00", "02:00", 3)))
    assert policy.floor_at(7 * 60 + 29) == 2, "one minute before the window: the policy's own floor"
    assert policy.floor_at(7 * 60 + 30) == 5, "the start minute is inside"
    assert policy.floor_at(20 * 60 - 1) == 5
    assert policy.floor_at(20 * 60) == 2, "the end minute is outside"
    assert policy.floor_at(23 * 60) == 3 and policy.floor_at(1 * 60 + 59) == 3, "past midnight"
    assert policy.floor_at(2 * 60) == 2


@pytest.mark.parametrize("clock", ["7:00", "24:00", "12:60", "0700", "07:00:00", " 07:00"])
def test_times_must_be_hh_mm(clock):
    errors = errors_of(ScheduledFloors, {"windows": [{"start": clock, "end": "09:00", "min_replicas": 3}]})
    assert errors == {("windows", 0, "start"): f"{clock!r} is not valid: write a time of day as HH:MM, 00:00 to 23:59"}


def test_the_edges_of_the_day_are_valid_times():
    window = FloorWindow(start="23:59", end="00:00", min_replicas=2)
    assert window.span() == (23 * 60 + 59, 24 * 60)


def test_a_window_that_ends_when_it_starts_is_refused():
    errors = errors_of(FloorWindow, {"start": "08:00", "end": "08:00", "min_replicas": 3})
    assert errors == {
        ("end",): "end (08:00) must differ from start: a window that ends when it starts is empty "
        "(for a floor all day, raise min_replicas instead)"
    }


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("08:00", "12:00"), ("11:59", "13:00")),  # one minute of overlap
        (("22:00", "02:00"), ("01:00", "03:00")),  # across midnight
        (("08:00", "18:00"), ("09:00", "10:00")),  # one inside the other
        (("20:00", "06:00"), ("19:00", "21:00")),  # around the other's start
    ],
)
def test_overlapping_windows_are_refused_naming_both(first, second):
    errors = errors_of(ScheduledFloors, {"windows": [
        {"start": first[0], "end": first[1], "min_replicas": 3},
        {"start": second[0], "end": second[1], "min_replicas": 4},
    ]})
    assert errors == {
        ("windows", 1): f"window {second[0]}-{second[1]} overlaps window {first[0]}-{first[1]} (windows.0): "
        "give each time of day one floor"
    }


def test_windows_that_touch_do_not_overlap():
    floors = ScheduledFloors(windows=[
        FloorWindow(start="08:00", end="12:00", min_replicas=3),
        FloorWindow(start="12:00", end="08:00", min_replicas=4),
    ])
    assert floors.floor_at(11 * 60 + 59) == 3 and floors.floor_at(12 * 60) == 4 and floors.floor_at(7 * 60) == 4


def test_the_number_of_windows_is_bounded():
    windows = [{"start": f"{h:02d}:00", "end": f"{h:02d}:30", "min_replicas": 3} for h in range(MAX_WINDOWS + 1)]
    ScheduledFloors.model_validate({"windows": windows[:MAX_WINDOWS]})
    errors = errors_of(ScheduledFloors, {"windows": windows})
    assert list(errors) == [("windows",)]
    assert f"at most {MAX_WINDOWS} items" in errors[("windows",)]


def test_an_unknown_time_zone_is_refused():
    errors = errors_of(ScheduledFloors, {"timezone": "Europe/Atlantis", "windows": [{"start": "08:00", "end": "09:00", "min_replicas": 2}]})
    assert errors == {("timezone",): "'Europe/Atlantis' is not an IANA time zone: write one such as UTC, Europe/Berlin or America/New_York"}


def test_a_floor_may_reach_max_replicas_but_not_pass_it():
    assert AutoscalingPolicy.model_validate(_policy(("08:00", "18:00", 6))).floor_at(9 * 60) == 6
    errors = errors_of(AutoscalingPolicy, _policy(("08:00", "18:00", 7)))
    assert errors == {("schedule", "windows", 0, "min_replicas"): "the window's min_replicas (7) must not exceed max_replicas (6)"}


def test_a_floor_with_a_warm_pool_must_leave_it_room():
    AutoscalingPolicy.model_validate(_policy(("08:00", "18:00", 5), warm_pool=1))
    errors = errors_of(AutoscalingPolicy, _policy(("08:00", "18:00", 6), warm_pool=1))
    assert errors == {
        ("schedule", "windows", 0, "min_replicas"): "the window's min_replicas + warm_pool (6 + 1) must not exceed max_replicas (6)"
    }


def test_a_floor_must_be_above_the_policys_own():
    AutoscalingPolicy.model_validate(_policy(("08:00", "18:00", 3)))
    errors = errors_of(AutoscalingPolicy, _policy(("08:00", "18:00", 5), ("20:00", "22:00", 2)))
    assert errors == {
        ("schedule", "windows", 1, "min_replicas"): "the window's min_replicas (2) must be above the policy's "
        "min_replicas (2): a lower floor changes nothing"
    }


COMBINED = {"running_per_replica": 24, "queue_per_replica": 2}


def test_the_combined_signal_sums_replicas_worth_of_both_terms():
    policy = AutoscalingPolicy.model_validate({**BOUNDS, "combined": COMBINED})
    assert policy.combined.replicas_worth(waiting=4, running=36) == 4 / 2 + 36 / 24


def test_the_combined_signal_replaces_signal_and_target():
    errors = errors_of(AutoscalingPolicy, {**BOUNDS, "combined": COMBINED, "signal": "concurrency", "target": 8})
    assert errors == {
        ("signal",): "signal does not apply with combined: its running_per_replica and queue_per_replica are the per-replica targets",
        ("target",): "target does not apply with combined: its running_per_replica and queue_per_replica are the per-replica targets",
    }


def test_the_combined_signal_cannot_idle_at_zero():
    errors = errors_of(AutoscalingPolicy, {**BOUNDS, "combined": COMBINED, "scale_to_zero": True})
    assert errors == {
        ("combined",): "combined cannot be used with scale_to_zero: KEDA folds every trigger into the formula, "
        "including the HTTP add-on's wake-up trigger; use one signal for a model that idles at zero"
    }


@pytest.mark.parametrize("field", ["running_per_replica", "queue_per_replica"])
def test_combined_capacities_must_be_positive(field):
    errors = errors_of(AutoscalingPolicy, {**BOUNDS, "combined": {**COMBINED, field: 0}})
    assert errors == {("combined", field): "Input should be greater than 0"}


def test_sagemaker_refuses_the_combined_signal_and_accepts_floors():
    combined = with_model(sagemaker_config(), 0, autoscaling={"combined": COMBINED})
    del combined["ml-serving:models"][0]["autoscaling"]["signal"]
    del combined["ml-serving:models"][0]["autoscaling"]["target"]
    with pytest.raises(SpecError) as caught:
        stack(combined)
    assert (
        "ml-serving:models[0].autoscaling.combined: SageMaker publishes no queue depth and Application Auto Scaling "
        "has no KEDA formula; use signal concurrency (ConcurrentRequestsPerModel) or requests_per_second"
    ) in str(caught.value)
    assert "1 problem" in str(caught.value), "the signal's own queue-depth refusal is not repeated"
    floors = with_model(sagemaker_config(), 0, autoscaling={"schedule": {"windows": [{"start": "08:00", "end": "18:00", "min_replicas": 3}]}})
    assert stack(floors).models[0].autoscaling.floor_at(8 * 60) == 3


WEEKDAYS_ONLY = ["mon", "tue", "wed", "thu", "fri"]


def test_a_weekday_window_holds_its_floor_on_its_days_only_and_runs_past_midnight_into_the_next():
    floors = ScheduledFloors(windows=[
        FloorWindow(start="08:00", end="18:00", min_replicas=4, days=WEEKDAYS_ONLY),
        FloorWindow(start="22:00", end="02:00", min_replicas=3, days=["fri"]),
        FloorWindow(start="23:00", end="01:00", min_replicas=2, days=["sun"]),
    ])
    monday, friday, saturday, sunday = 0, 4, 5, 6
    assert floors.floor_at(9 * 60, monday) == 4 and floors.floor_at(9 * 60, friday) == 4
    assert floors.floor_at(9 * 60, saturday) == 0 and floors.floor_at(9 * 60, sunday) == 0
    assert floors.floor_at(18 * 60, friday) == 0, "the end minute is outside"
    # Friday night runs into Saturday's first two hours, not Friday's.
    assert floors.floor_at(23 * 60, friday) == 3 and floors.floor_at(60, saturday) == 3
    assert floors.floor_at(60, friday) == 0 and floors.floor_at(2 * 60, saturday) == 0
    # Sunday night runs into Monday: across the week's end.
    assert floors.floor_at(23 * 60 + 30, sunday) == 2 and floors.floor_at(30, monday) == 2
    # Without days: every day, as before.
    assert ScheduledFloors(windows=[FloorWindow(start="08:00", end="18:00", min_replicas=4)]).floor_at(9 * 60, sunday) == 4


def test_windows_on_different_days_may_share_hours_and_on_a_shared_day_may_not():
    ScheduledFloors(windows=[
        FloorWindow(start="08:00", end="18:00", min_replicas=4, days=WEEKDAYS_ONLY),
        FloorWindow(start="10:00", end="14:00", min_replicas=2, days=["sat", "sun"]),
        # Thursday night to Friday 02:00 meets Friday's 08:00 window nowhere.
        FloorWindow(start="20:00", end="02:00", min_replicas=3, days=["thu"]),
    ])
    errors = errors_of(ScheduledFloors, {"windows": [
        {"start": "08:00", "end": "18:00", "min_replicas": 4, "days": WEEKDAYS_ONLY},
        {"start": "17:00", "end": "20:00", "min_replicas": 2, "days": ["fri", "sat"]},
        {"start": "22:00", "end": "09:00", "min_replicas": 2, "days": ["sun"]},
    ]})
    assert errors == {
        ("windows", 1): "window 17:00-20:00 on fri, sat overlaps window 08:00-18:00 on mon, tue, wed, thu, fri "
        "(windows.0): give each time of day one floor",
        # Sunday 22:00 to Monday 09:00 runs into Monday's window.
        ("windows", 2): "window 22:00-09:00 on sun overlaps window 08:00-18:00 on mon, tue, wed, thu, fri "
        "(windows.0): give each time of day one floor",
    }


@pytest.mark.parametrize(("days", "message"), [
    (["mon", "mon", "fri", "fri"], "each day once: mon, fri repeated"),
    ([], "List should have at least 1 item after validation, not 0"),
    (["monday"], "Input should be 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun'"),
])
def test_a_windows_days_are_named_once_each(days, message):
    errors = errors_of(FloorWindow, {"start": "08:00", "end": "18:00", "min_replicas": 2, "days": days})
    assert any(message in text for text in errors.values()), errors
