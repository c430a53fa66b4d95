from components.compilers import metrics
from components.compilers.keda import interceptor_reference_grant, interceptor_route, scaled_object
from components.compilers.kserve import cold_start_budget_s
from components.compilers.rollout import served_versions
from tests.factories import manual_canary_of, model_of


def _scaled(model, index=0, wake=None):
    served = served_versions(model)[index]
    query = metrics.load(model.runtime, model.autoscaling.signal, metrics.selector("models", served.name))
    return scaled_object(served, query, wake)["spec"]


def test_policy_fields_map_onto_the_scaled_object():
    spec = _scaled(model_of("prod", "llama-8b"))
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llama-8b-v1-predictor"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (5, 8)
    behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 900
    assert behavior["scaleDown"]["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 60}]
    trigger = spec["triggers"][0]
    assert trigger["type"] == "prometheus" and trigger["metricType"] == "AverageValue"
    assert trigger["metadata"]["threshold"] == "1"
    assert trigger["metadata"]["query"] == 'sum(vllm:num_requests_waiting{namespace="models",inferenceservice="llama-8b-v1"})'
    assert trigger["metadata"]["serverAddress"] == "http://prometheus-operated.monitoring.svc:9090"
    assert "idleReplicaCount" not in spec


def test_each_version_scales_on_its_own_queue():
    candidate = _scaled(manual_canary_of("prod", "llama-8b"), index=1)
    assert candidate["scaleTargetRef"]["name"] == "llama-8b-v2-predictor"
    assert 'inferenceservice="llama-8b-v2"' in candidate["triggers"][0]["metadata"]["query"]
    assert (candidate["minReplicaCount"], candidate["maxReplicaCount"]) == (1, 1)


def test_scale_to_zero_idles_and_wakes_through_the_interceptor():
    spec = _scaled(model_of("dev", "llama-8b"), wake="llama-8b-v1")
    assert spec["idleReplicaCount"] == 0 and spec["minReplicaCount"] == 1
    assert spec["cooldownPeriod"] == 900
    assert spec["triggers"][1] == {
        "type": "external-push",
        "metadata": {"scalerAddress": "keda-add-ons-http-external-scaler.keda:9090", "interceptorRoute": "llama-8b-v1"},
    }


def test_queries_are_single_series_per_runtime_and_signal():
    sel = metrics.selector("models", "x-v1")
    assert metrics.load("triton", "queue_depth", sel) == 'sum(nv_inference_pending_request_count{namespace="models",inferenceservice="x-v1"})'
    assert metrics.load("vllm", "concurrency", sel).count("sum(") == 2
    assert metrics.load("vllm", "requests_per_second", sel) == 'sum(rate(vllm:request_success_total{namespace="models",inferenceservice="x-v1"}[1m]))'
    assert metrics.load("triton", "concurrency", sel).startswith("sum(rate(nv_inference_request_duration_us")
    for runtime in ("vllm", "triton"):
        for signal in ("queue_depth", "concurrency", "requests_per_second"):
            assert metrics.load(runtime, signal, sel).startswith("sum(")


def test_interceptor_route_holds_requests_for_a_cold_start():
    served = served_versions(model_of("dev", "llama-8b"))[0]
    route = interceptor_route(served, "llama-8b.models.internal")
    assert route["apiVersion"] == "http.keda.sh/v1beta1" and route["kind"] == "InterceptorRoute"
    assert route["spec"]["target"] == {"service": "llama-8b-v1-predictor", "port": 80}
    assert route["spec"]["rules"] == [{"hosts": ["llama-8b.models.internal"]}]
    # Node from zero (1200 s) + image pull (360 s) + start-up budget of 15 GiB of weights (524 s).
    assert cold_start_budget_s(served.model) == 1200 + 360 + 524
    assert route["spec"]["timeouts"] == {"readiness": "2084s", "request": "2684s", "responseHeader": "2684s"}
    # dev's llama-8b batches 16 sequences: the interceptor asks for a replica only when all are taken.
    assert route["spec"]["scalingMetric"] == {"concurrency": {"targetValue": 16}}


def test_the_interceptor_scales_at_a_replicas_full_concurrency_whatever_the_policy_target():
    for target, signal in ((0.233, "requests_per_second"), (4, "queue_depth"), (40, "concurrency")):
        model = model_of("dev", "llama-8b", autoscaling={"signal": signal, "target": target})
        route = interceptor_route(served_versions(model)[0], "h")
        assert route["spec"]["scalingMetric"] == {"concurrency": {"targetValue": 16}}
    sentiment = model_of("staging", "sentiment")
    assert sentiment.autoscaling.scale_to_zero
    expected = sentiment.triton.max_batch_size * sum(g.count for g in sentiment.triton.instance_groups) * sentiment.gpus
    assert interceptor_route(served_versions(sentiment)[0], "h")["spec"]["scalingMetric"] == {
        "concurrency": {"targetValue": expected}
    }


def test_reference_grant_lets_model_routes_reach_the_interceptor():
    grant = interceptor_reference_grant("models")
    assert grant["metadata"]["namespace"] == "keda"
    assert grant["spec"]["from"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "models"}]
    assert grant["spec"]["to"] == [{"group": "", "kind": "Service", "name": "keda-add-ons-http-interceptor-proxy"}]
