import copy

import pytest

from components.intent.alerting import AlertingSpec, Receiver, SecretRef
from components.intent.histograms import edges_ms
from components.intent.model import ModelSpec
from tests.conftest import problems_of, stack_config
from tests.intent.helpers import TRITON, VLLM, errors_of

PD = {"name": "oncall", "pagerduty": {"routing_key": {"aws_secret": "arn:aws:secretsmanager:us-east-1:111122223333:secret:pd-AbCdEf"}}}


def test_objectives_must_sit_on_vllm_bucket_edges_naming_the_nearest():
    errors = errors_of(ModelSpec, {**VLLM, "slo": {"ttft_p99_ms": 3000, "tpot_p99_ms": 120, "latency_p99_ms": 20000}})
    assert errors == {
        ("slo", "ttft_p99_ms"): "3000 ms is not a bucket edge of vllm:time_to_first_token_seconds (vLLM 0.31.0), so "
        "alerts could only interpolate inside a bucket and fire early or late; use 2500 or 5000",
        ("slo", "tpot_p99_ms"): "120 ms is not a bucket edge of vllm:inter_token_latency_seconds (vLLM 0.31.0), so "
        "alerts could only interpolate inside a bucket and fire early or late; use 100 or 150",
    }
    # Below the first edge there is one neighbour only.
    low = errors_of(ModelSpec, {**VLLM, "slo": {"ttft_p99_ms": 2500, "tpot_p99_ms": 5}})
    assert low[("slo", "tpot_p99_ms")].endswith("use 10")


@pytest.mark.parametrize("edge", [e for e in edges_ms("ttft") if 10 <= e <= 120_000])
def test_every_ttft_edge_is_accepted(edge):
    assert ModelSpec.model_validate({**VLLM, "slo": {"ttft_p99_ms": edge}}).slo.ttft_p99_ms == edge


def test_latency_gates_on_vllm_sit_on_edges_too_but_triton_takes_any_value():
    canary = {"version": "v2", "source": "s3://bucket/llama/v2/", "traffic_percent": 10,
              "gates": [{"metric": "ttft_p99", "max_value": 1200}, {"metric": "error_rate", "max_value": 0.013}]}
    assert errors_of(ModelSpec, {**VLLM, "canary": canary}) == {
        ("canary", "gates", 0, "max_value"): "1200 ms is not a bucket edge of vllm:time_to_first_token_seconds "
        "(vLLM 0.31.0), so alerts could only interpolate inside a bucket and fire early or late; use 1000 or 2500",
    }
    triton = {**TRITON, "slo": {"latency_p99_ms": 93}}
    assert ModelSpec.model_validate(triton).slo.latency_p99_ms == 93


def test_receivers_take_exactly_one_kind_and_references_never_values():
    assert errors_of(Receiver, {"name": "x"}) == {
        (): "a receiver is exactly one of sns, slack, pagerduty, opsgenie or webhook; got none"
    }
    both = {**PD, "sns": {"topic_arn": "arn:aws:sns:us-east-1:111122223333:alerts"}}
    assert "got sns, pagerduty" in errors_of(Receiver, both)[()]
    assert errors_of(SecretRef, {}) == {(): "give exactly one of aws_secret or kubernetes_secret"}
    # A credential written inline is not a reference.
    inline = errors_of(Receiver, {"name": "x", "pagerduty": {"routing_key": "R0UT1NGK3Y"}})
    assert list(inline) == [("pagerduty", "routing_key")]
    assert ("slack", "webhook_url", "url") in errors_of(
        Receiver, {"name": "x", "slack": {"channel": "#a", "webhook_url": {"url": "https://hooks.slack.com/services/T/B/X"}}}
    )


def test_routes_name_known_receivers():
    errors = errors_of(AlertingSpec, {"receivers": [PD], "routes": [{"severity": "critical", "receiver": "pager"}],
                                      "default_receiver": "slack"})
    assert errors == {
        ("routes", 0, "receiver"): "no receiver named 'pager'; receivers: oncall",
        ("default_receiver",): "no receiver named 'slack'; receivers: oncall",
    }


def test_routing_follows_alertmanager_order_and_continue():
    spec = AlertingSpec.model_validate({
        "receivers": [PD, {"name": "sns", "sns": {"topic_arn": "arn:aws:sns:us-east-1:111122223333:alerts"}}],
        "routes": [{"model": "llama-70b", "receiver": "sns"},
                   {"severity": "critical", "receiver": "oncall", "continue_matching": True},
                   {"severity": "critical", "receiver": "sns"}],
    })
    assert spec.receivers_for({"severity": "critical", "model": "llama-70b"}) == ["sns"]
    assert spec.receivers_for({"severity": "critical", "model": "llama-8b"}) == ["oncall", "sns"]
    assert spec.receivers_for({"severity": "warning", "model": "llama-8b"}) == []


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_staging_and_prod_must_route_critical_alerts(environment):
    config = copy.deepcopy(stack_config(environment))
    del config["ml-serving:alerting"]
    problems = problems_of(config)
    assert problems[0].startswith(f"ml-serving:alerting: {environment} must route critical alerts to a receiver")
    # Routing only one model's criticals is not enough.
    config["ml-serving:alerting"] = {"receivers": [PD], "routes": [{"severity": "critical", "model": "llama-8b", "receiver": "oncall"}]}
    message = problems_of(config)[0]
    assert "(not reached for models: " in message and "sentiment" in message and "llama-8b" not in message


def test_dev_may_have_no_receiver():
    config = copy.deepcopy(stack_config("dev"))
    assert "ml-serving:alerting" not in config


def test_sagemaker_stacks_alert_through_sns_only():
    config = copy.deepcopy(stack_config("sagemaker-prod"))
    config["ml-serving:alerting"]["receivers"].append(PD)
    assert problems_of(config) == [
        "ml-serving:alerting.receivers[1]: SageMaker stacks alert through CloudWatch alarms, which notify SNS topics "
        "only; make oncall an sns receiver and subscribe pagerduty to its topic"
    ]


def test_a_route_for_a_model_names_one_of_the_stack():
    config = copy.deepcopy(stack_config("prod"))
    config["ml-serving:alerting"]["routes"].insert(0, {"model": "llama-7b", "receiver": "ml-oncall"})
    assert problems_of(config) == [
        "ml-serving:alerting.routes[0].model: no model named 'llama-7b' in this stack; models: llama-405b, llama-70b, llama-8b, sentiment"
    ]
