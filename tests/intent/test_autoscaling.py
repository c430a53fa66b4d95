from components.intent.autoscaling import AutoscalingPolicy
from tests.intent.helpers import errors_of


def test_defaults_describe_one_fixed_replica():
    policy = AutoscalingPolicy()
    assert (policy.min_replicas, policy.max_replicas, policy.scale_to_zero) == (1, 1, False)
    assert policy.scale_up_window_s < policy.scale_down_window_s


def test_min_above_max_is_rejected_with_both_numbers():
    errors = errors_of(AutoscalingPolicy, {"min_replicas": 3, "max_replicas": 2})
    assert errors == {("min_replicas",): "min_replicas (3) must not exceed max_replicas (2)"}


def test_warm_pool_must_fit_under_the_ceiling():
    errors = errors_of(AutoscalingPolicy, {"min_replicas": 2, "max_replicas": 3, "warm_pool": 2})
    assert errors == {
        ("warm_pool",): "min_replicas + warm_pool (2 + 2) must not exceed max_replicas (3): "
        "the warm pool is headroom inside the ceiling"
    }


def test_scale_up_must_be_faster_than_scale_down():
    errors = errors_of(AutoscalingPolicy, {"scale_up_window_s": 300, "scale_down_window_s": 300})
    assert errors == {
        ("scale_up_window_s",): "scale_up_window_s (300) must be shorter than scale_down_window_s (300): "
        "scale out fast, scale in slowly"
    }


def test_idle_timeout_without_scale_to_zero_is_a_mistake():
    errors = errors_of(AutoscalingPolicy, {"idle_timeout_s": 600})
    assert errors == {("idle_timeout_s",): "idle_timeout_s only applies with scale_to_zero: true"}


def test_several_rule_violations_are_reported_together():
    errors = errors_of(
        AutoscalingPolicy,
        {"min_replicas": 4, "max_replicas": 2, "scale_up_window_s": 600, "scale_down_window_s": 60, "idle_timeout_s": 60},
    )
    assert set(errors) == {("min_replicas",), ("scale_up_window_s",), ("idle_timeout_s",)}


def test_utilisation_is_not_a_signal():
    errors = errors_of(AutoscalingPolicy, {"signal": "gpu_utilization"})
    assert errors == {("signal",): "Input should be 'queue_depth', 'concurrency' or 'requests_per_second'"}


def test_bounds_are_enforced():
    errors = errors_of(AutoscalingPolicy, {"max_replicas": 101, "target": 0, "scale_down_window_s": 30})
    assert errors == {
        ("max_replicas",): "Input should be less than or equal to 100",
        ("target",): "Input should be greater than 0",
        ("scale_down_window_s",): "Input should be greater than or equal to 60",
    }
