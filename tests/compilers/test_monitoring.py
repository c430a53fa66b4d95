from components.compilers.monitoring import gate_expression, pod_monitor, prometheus_rule
from components.compilers.rollout import served_versions
from components.intent.canary import Gate
from tests.factories import manual_canary_of, model_of


def test_pod_monitors_scrape_each_runtime_and_keep_the_version_labels():
    vllm = pod_monitor("vllm")
    assert vllm["metadata"]["labels"] == {"release": "kube-prometheus-stack"}
    assert vllm["spec"]["selector"] == {"matchLabels": {"ml-serving/runtime": "vllm"}}
    endpoint = vllm["spec"]["podMetricsEndpoints"][0]
    assert endpoint["port"] == "http1" and endpoint["path"] == "/metrics"
    targets = {r["targetLabel"]: r["sourceLabels"][0] for r in endpoint["relabelings"]}
    assert targets["inferenceservice"] == "__meta_kubernetes_pod_label_serving_kserve_io_inferenceservice"
    assert targets["version"] == "__meta_kubernetes_pod_label_ml_serving_version"
    assert pod_monitor("triton")["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"


def _alerts(model):
    rule = prometheus_rule(model, served_versions(model))
    return rule, [(r["alert"], r["labels"].get("version"), r["expr"]) for g in rule["spec"]["groups"] for r in g["rules"]]


def test_slo_alerts_for_a_vllm_model():
    rule, alerts = _alerts(model_of("prod", "llama-70b"))
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    names = {a[0] for a in alerts}
    assert names == {
        "MLServingQueueSaturated",
        "MLServingErrorRateAboveSLO",
        "MLServingReplicasNotReady",
        "MLServingTTFTAboveSLO",
        "MLServingTPOTAboveSLO",
        "MLServingKVCacheFull",
    }
    exprs = {a[0]: a[2] for a in alerts}
    assert exprs["MLServingTTFTAboveSLO"].endswith("> 3")
    assert exprs["MLServingTPOTAboveSLO"] == (
        'histogram_quantile(0.99, sum by (le) (rate(vllm:inter_token_latency_seconds_bucket'
        '{namespace="models",inferenceservice="llama-70b-v1"}[5m]))) > 0.12'
    )
    assert exprs["MLServingKVCacheFull"] == 'max(vllm:kv_cache_usage_perc{namespace="models",inferenceservice="llama-70b-v1"}) > 0.95'
    assert exprs["MLServingErrorRateAboveSLO"].endswith("> 0.005")
    assert 'deployment="llama-70b-v1-predictor"' in exprs["MLServingReplicasNotReady"]
    # Saturated: more waiting than target x max replicas (2 x 2).
    assert exprs["MLServingQueueSaturated"].endswith("> 4")


def test_triton_alerts_use_its_own_metrics():
    _, alerts = _alerts(model_of("prod", "sentiment"))
    exprs = {a[0]: a[2] for a in alerts}
    assert set(exprs) == {"MLServingQueueSaturated", "MLServingErrorRateAboveSLO", "MLServingReplicasNotReady", "MLServingLatencyAboveSLO"}
    assert exprs["MLServingLatencyAboveSLO"] == (
        'max(nv_inference_request_summary_us{namespace="models",inferenceservice="sentiment-v1",quantile="0.99"}) / 1e6 > 0.1'
    )
    assert "nv_inference_request_failure" in exprs["MLServingErrorRateAboveSLO"]


def test_canary_gates_compare_candidate_with_stable():
    rule, alerts = _alerts(manual_canary_of("prod", "llama-8b", canary={"gates": [{"metric": "error_rate", "max_value": 0.02}, {"metric": "ttft_p99", "max_value": 1500}]}))
    gates = [a for a in alerts if a[0] == "MLServingCanaryGateBreached"]
    assert [g[1] for g in gates] == ["v2", "v2"]
    group = next(g for g in rule["spec"]["groups"] if g["name"] == "llama-8b-canary-gates")
    assert {r["labels"]["gate"] for r in group["rules"]} == {"error_rate", "ttft_p99"}
    assert all(r["labels"]["severity"] == "critical" for r in group["rules"])
    assert "canary.traffic_percent: 0" in group["rules"][0]["annotations"]["summary"]


def test_gate_expression_absolute_and_relative():
    gate = Gate(metric="ttft_p99", max_value=1500, max_ratio_to_stable=1.3, window_s=300)
    expr = gate_expression(gate, "vllm", "m-v2", "m-v1")
    candidate = 'histogram_quantile(0.99, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{namespace="models",inferenceservice="m-v2"}[300s])))'
    stable = candidate.replace("m-v2", "m-v1")
    assert expr == f"({candidate}) > 1.5 or ({candidate}) > 1.3 * clamp_min({stable}, 0.01)"
    only_ratio = gate_expression(Gate(metric="error_rate", max_ratio_to_stable=2), "triton", "m-v2", "m-v1")
    assert only_ratio.replace(" or vector(0)", "").count(" or ") == 0 and "> 2 * clamp_min(" in only_ratio and only_ratio.endswith(", 0.001)")


def test_no_gates_without_a_canary():
    rule, alerts = _alerts(model_of("dev", "llama-8b"))
    assert not any(a[0] == "MLServingCanaryGateBreached" for a in alerts)
    assert [g["name"] for g in rule["spec"]["groups"]] == ["llama-8b-v1-slo"]
