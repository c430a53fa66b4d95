from components.compilers.monitoring import (
    above,
    burn_threshold,
    gate_expression,
    gate_measures,
    pod_monitor,
    prometheus_rule,
)
from components.compilers.rollout import served_versions
from components.intent.canary import Gate
from tests.factories import manual_canary_of, model_of


def test_pod_monitors_copy_version_labels_under_names_no_runtime_uses():
    vllm = pod_monitor("vllm")
    assert vllm["metadata"]["labels"] == {"release": "kube-prometheus-stack"}
    assert vllm["spec"]["selector"] == {"matchLabels": {"ml-serving/runtime": "vllm"}}
    endpoint = vllm["spec"]["podMetricsEndpoints"][0]
    assert endpoint["port"] == "http1" and endpoint["path"] == "/metrics"
    targets = {r["targetLabel"]: r["sourceLabels"][0] for r in endpoint["relabelings"]}
    assert targets == {
        "inferenceservice": "__meta_kubernetes_pod_label_serving_kserve_io_inferenceservice",
        "ml_serving_model": "__meta_kubernetes_pod_label_ml_serving_model",
        "ml_serving_version": "__meta_kubernetes_pod_label_ml_serving_version",
    }
    # Triton labels its own series `model` and `version`: ours must not overwrite them.
    triton = pod_monitor("triton")["spec"]["podMetricsEndpoints"][0]
    assert triton["port"] == "metrics"
    assert not {"model", "version"} & {r["targetLabel"] for r in triton["relabelings"]}


def _alerts(model, team=None):
    rule = prometheus_rule(model, served_versions(model), team)
    return rule, [r for g in rule["spec"]["groups"] for r in g["rules"]]


def test_every_alert_names_model_and_version_and_a_runbook():
    # prod llama-70b routes through an endpoint picker: its picker alerts are labelled and linked too.
    for stack, name in (("prod", "llama-8b"), ("prod", "llama-70b"), ("prod", "sentiment"), ("staging", "llama-8b")):
        _, rules = _alerts(model_of(stack, name), team="ml-platform")
        if name == "llama-70b":
            assert {"MLServingEndpointPickerDown", "MLServingEndpointPickerFailing"} <= {r["alert"] for r in rules}
        for rule in rules:
            assert rule["labels"]["model"] == name and rule["labels"]["version"]
            assert rule["labels"]["team"] == "ml-platform"
            assert rule["annotations"]["runbook"].startswith("docs/operations.md#")


def test_latency_budgets_count_good_requests_at_the_objective_bucket():
    _, rules = _alerts(model_of("prod", "llama-70b"))
    ttft = [r for r in rules if r["alert"] == "MLServingTTFTBudgetBurn"]
    assert [r["labels"]["severity"] for r in ttft] == ["critical", "warning"]
    page = ttft[0]["expr"]
    # 5 s objective: the le="5.0" bucket, 1 % budget burnt 14.4x (1h and 5m) or 6x (6h and 30m).
    assert 'le=~"5|5\\\\.0"' in page and "histogram_quantile" not in page
    assert "[1h]" in page and "[5m]" in page and f"> {above(0.144)}" in page
    # Traffic exactly at the objective must not fire through rounding: thresholds sit just above.
    assert above(0.01) != "0.01" and float(above(0.01)) - 0.01 < 1e-10
    assert "[6h]" in page and "[30m]" in page and f"> {above(0.06)}" in page
    tpot = next(r for r in rules if r["alert"] == "MLServingTPOTBudgetBurn")
    assert 'vllm:inter_token_latency_seconds_bucket{namespace="models",inferenceservice="llama-70b-v1",le=~"0\\\\.15"}' in tpot["expr"]


def test_burn_thresholds_stay_reachable_for_large_budgets():
    assert burn_threshold(14.4, 0.005) == 0.072
    assert burn_threshold(14.4, 0.1) == 0.55 and burn_threshold(3, 0.1) == 0.3


def test_not_ready_waits_for_the_cold_start_of_each_model():
    small = {r["alert"]: r["for"] for r in _alerts(model_of("prod", "llama-8b"))[1]}
    large = {r["alert"]: r["for"] for r in _alerts(model_of("prod", "llama-70b"))[1]}
    assert int(large["MLServingReplicasNotReady"][:-1]) > int(small["MLServingReplicasNotReady"][:-1]) >= 20
    assert large["MLServingModelDown"] == large["MLServingReplicasNotReady"]


def test_triton_latency_uses_its_summary_and_errors_its_counters():
    _, rules = _alerts(model_of("prod", "sentiment"))
    exprs = {r["alert"]: r["expr"] for r in rules if r["labels"]["severity"] == "critical"}
    assert exprs["MLServingLatencyAboveSLO"] == (
        'max(nv_inference_request_summary_us{namespace="models",inferenceservice="sentiment-v1",quantile="0.99"}) / 1e6 > 0.1'
    )
    assert "nv_inference_request_failure" in exprs["MLServingErrorRateBudgetBurn"]
    assert "or vector(0)" in exprs["MLServingErrorRateBudgetBurn"]


def test_error_gate_counts_a_missing_5xx_series_as_zero():
    model = model_of("prod", "llama-8b")
    expr = gate_expression(Gate(metric="error_rate", max_ratio_to_stable=2), model, "m-v2", "m-v1")
    assert 'http_requests_total{namespace="models",inferenceservice="m-v1",status="5xx"}[300s])) or vector(0)' in expr
    assert f"> {above(2)} * clamp_min(" in expr and expr.endswith(", 0.001))")


def test_ttft_gate_counts_slow_requests_at_bucket_edges():
    model = model_of("prod", "llama-8b")
    gate = Gate(metric="ttft_p99", max_value=2500, max_ratio_to_stable=1.3)
    expr = gate_expression(gate, model, "m-v2", "m-v1")
    absolute, relative = expr.split(" or ", 1)
    assert 'inferenceservice="m-v2",le=~"2\\\\.5"' in absolute and absolute.endswith(f"> {above(0.01)})")
    # The comparison uses the model's own objective (1 s) for both versions.
    assert 'inferenceservice="m-v2",le=~"1|1\\\\.0"' in relative and 'inferenceservice="m-v1",le=~"1|1\\\\.0"' in relative


def test_gate_measures_and_alerts_read_one_builder():
    """Flagger's checks (value, ceiling) breach exactly where the alert's expression does."""
    model = model_of("prod", "llama-8b")
    gate = Gate(metric="ttft_p99", max_value=2500, max_ratio_to_stable=1.3)
    absolute, relative = gate_measures(gate, model, "m-v2", "m-v1")
    assert absolute[0] == "" and absolute[2] == 0.01 and 'le=~"2\\\\.5"' in absolute[1]
    assert relative[0] == "-vs-stable" and relative[2] == 1.3
    assert 'inferenceservice="m-v1",le=~"1|1\\\\.0"' in relative[1] and " / clamp_min(((" in relative[1]
    assert "or vector(0)), 0.001)" not in relative[1]  # an absent stable leaves Flagger no value: it holds
    expr = gate_expression(gate, model, "m-v2", "m-v1")
    assert f"({absolute[1]} > {above(0.01)})" in expr


def test_quality_gate_fills_in_both_versions():
    model = model_of("prod", "llama-8b")
    gate = Gate(metric="quality", expression='max(s{inferenceservice="$candidate",baseline="$stable"})', max_value=0.15)
    [(suffix, value, ceiling)] = gate_measures(gate, model, "m-v2", "m-v1")
    assert (suffix, value, ceiling) == ("", 'max(s{inferenceservice="m-v2",baseline="m-v1"})', 0.15)
    assert gate_expression(gate, model, "m-v2", "m-v1") == f'(max(s{{inferenceservice="m-v2",baseline="m-v1"}}) > {above(0.15)})'


def test_canary_gates_name_the_candidate():
    rule, rules = _alerts(model_of("prod", "llama-8b"))
    gates = [r for r in rules if r["alert"] == "MLServingCanaryGateBreached"]
    assert {(g["labels"]["version"], g["labels"]["stable_version"], g["labels"]["gate"]) for g in gates} == {
        ("v2", "v1", "error_rate"), ("v2", "v1", "ttft_p99"), ("v2", "v1", "quality")
    }
    # Flagger rolls an automated canary back; a manual one is rolled back in the stack file.
    assert "describe canary llama-8b" in gates[0]["annotations"]["summary"]
    _, manual = _alerts(manual_canary_of("prod", "llama-8b"))
    manual_gates = [r for r in manual if r["alert"] == "MLServingCanaryGateBreached"]
    assert all(r["labels"]["severity"] == "critical" for r in manual_gates)
    assert "canary.traffic_percent: 0" in manual_gates[0]["annotations"]["summary"]


def test_no_gates_without_a_canary():
    rule, rules = _alerts(model_of("dev", "llama-8b"))
    assert not any(r["alert"] == "MLServingCanaryGateBreached" for r in rules)
    assert [g["name"] for g in rule["spec"]["groups"]] == ["llama-8b-v1-slo"]
