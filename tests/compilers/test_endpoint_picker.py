"""Endpoint-picker routing: the route's backends per rollout step, the inferencepool chart
rendered with our values (every key read, every object valid), Envoy Gateway's extension
config, and the edits the intent must refuse."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.compilers.endpoint_picker import picker_name, picker_values, pool_name
from components.compilers.helm_values import envoy_gateway
from components.compilers.kserve import inference_service
from components.compilers.rollout import served_versions
from components.compilers.routing import http_route, version_backends
from components.intent.model import ModelSpec
from tests.conftest import SHARED
from tests.factories import model_of
from tests.intent.helpers import TRITON, VLLM, errors_of

HELM_RENDER = SHARED / "tools" / "helm_render.py"
INFERENCEPOOL_CHART = SHARED / "charts" / "inferencepool-v1.5.0.tgz"
GATEWAY_CHART = SHARED / "charts" / "gateway-helm-v1.9.0.tgz"
PICKER = {"balancer": "endpoint_picker"}


def _picker_llama(stack: str, name: str, **changes):
    """prod's llama-8b rolled out by hand behind the picker (prod rolls it out with Flagger,
    which cannot route to pools, so the shipped model keeps round robin)."""
    return model_of(stack, name, automated_rollout=False, routing=PICKER, **changes)


def _backends(model, **kwargs):
    return [(b["kind"], b["name"], b["weight"]) for b in version_backends(served_versions(model), **kwargs)]


def test_a_single_version_routes_to_its_pool():
    model = model_of("prod", "llama-70b")
    rule = http_route(model, served_versions(model), "models.internal")["spec"]["rules"][0]
    assert rule["backendRefs"] == [
        {"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": "llama-70b-v1", "weight": 100}
    ]
    assert rule["timeouts"] == {"request": "600s"}


@pytest.mark.parametrize(
    "percent, expected",
    [
        (0, [("InferencePool", "llama-8b-v1", 100)]),
        (10, [("Service", "llama-8b-v1-predictor", 90), ("Service", "llama-8b-v2-predictor", 10)]),
        (50, [("Service", "llama-8b-v1-predictor", 50), ("Service", "llama-8b-v2-predictor", 50)]),
        (100, [("InferencePool", "llama-8b-v2", 100)]),
    ],
)
def test_a_canary_stays_request_weighted_over_services_until_one_version_has_all(percent, expected):
    """Our gateway takes one InferencePool per rule, so a split falls back to the Services."""
    model = _picker_llama("prod", "llama-8b", canary={"traffic_percent": percent})
    assert _backends(model) == expected


def test_where_the_gateway_weights_pools_a_canary_splits_across_both_pools():
    model = _picker_llama("prod", "llama-8b", canary={"traffic_percent": 25})
    assert _backends(model, weighted_pools=True) == [
        ("InferencePool", "llama-8b-v1", 75),
        ("InferencePool", "llama-8b-v2", 25),
    ]


def test_triton_and_round_robin_models_keep_their_services():
    assert _backends(model_of("prod", "sentiment")) == [("Service", "sentiment-v1-predictor", 100)]
    plain = model_of("prod", "llama-70b", routing={"balancer": "round_robin"})
    assert _backends(plain) == [("Service", "llama-70b-v1-predictor", 100)]


def test_picker_routes_validate_against_gateway_api(crd_validator):
    for name in ("llama-8b", "llama-70b"):
        for percent in (0, 10):
            changes = {"canary": {"traffic_percent": percent}} if name == "llama-8b" else {}
            model = (_picker_llama if name == "llama-8b" else model_of)("prod", name, **changes)
            route = http_route(model, served_versions(model), "models.internal")
            assert crd_validator(route) == []


def test_the_pool_selects_exactly_its_versions_pods():
    model = _picker_llama("prod", "llama-8b")
    for served in served_versions(model):
        selector = picker_values(served)["inferencePool"]["modelServers"]["matchLabels"]
        pod_labels = inference_service(served, "l40s", "us-east-1", False)["spec"]["predictor"]["labels"]
        assert selector.items() <= pod_labels.items()
        assert selector["ml-serving/version"] == served.version
    stable, candidate = served_versions(model)
    assert picker_values(stable)["inferencePool"]["modelServers"] != picker_values(candidate)["inferencePool"]["modelServers"]


def test_failure_mode_maps_to_the_pool_field():
    served = served_versions(model_of("prod", "llama-70b", routing={**PICKER, "failure_mode": "fail_closed"}))[0]
    assert picker_values(served)["inferenceExtension"]["failureMode"] == "FailClose"
    served = served_versions(model_of("prod", "llama-70b"))[0]
    assert picker_values(served)["inferenceExtension"]["failureMode"] == "FailOpen"


# --- the real charts ---------------------------------------------------------------------------


def _helm(chart: Path, values: dict, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    for path in (HELM_RENDER, chart):
        if not path.exists():
            pytest.skip(f"{path} is absent: charts and helm_render.py come from ../shared beside the project")
    values_file = tmp_path / f"values-{len(list(tmp_path.iterdir()))}.yaml"
    values_file.write_text(yaml.safe_dump(values))
    return subprocess.run(
        [sys.executable, str(HELM_RENDER), str(chart), "--values", str(values_file), *args],
        capture_output=True, text=True, timeout=300, check=False,
    )


def _render(chart: Path, values: dict, release: str, namespace: str, tmp_path: Path) -> list[dict]:
    result = _helm(chart, values, tmp_path, "--release", release, "--namespace", namespace)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def test_every_picker_value_is_one_the_chart_reads(tmp_path):
    for name, changes in (("llama-8b", {}), ("llama-70b", {"routing": {**PICKER, "failure_mode": "fail_closed"}})):
        for served in served_versions((_picker_llama if name == "llama-8b" else model_of)("prod", name, **changes)):
            result = _helm(INFERENCEPOOL_CHART, picker_values(served), tmp_path, "--unknown-values")
            assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_two_versions_pools_render_valid_objects_that_do_not_collide(tmp_path, crd_validator, builtin_validator):
    model = _picker_llama("prod", "llama-8b")
    seen: dict[tuple, str] = {}
    for served in served_versions(model):
        docs = _render(INFERENCEPOOL_CHART, picker_values(served), pool_name(served), "models", tmp_path)
        for doc in docs:
            key = (doc["kind"], doc["metadata"].get("namespace"), doc["metadata"]["name"])
            assert key not in seen, f"{key} rendered by both {seen.get(key)} and {served.name}"
            seen[key] = served.name
            group = doc["apiVersion"].split("/")[0]
            if "." in group and not group.endswith("k8s.io") or group == "inference.networking.k8s.io":
                assert crd_validator(doc) == [], doc["kind"]
            else:
                builtin_validator(doc, "1.35")
        (pool,) = [d for d in docs if d["kind"] == "InferencePool"]
        assert pool["metadata"]["name"] == pool_name(served)
        assert pool["spec"]["targetPorts"] == [{"number": 8080}]
        assert pool["spec"]["endpointPickerRef"]["name"] == picker_name(served)
        assert pool["spec"]["endpointPickerRef"]["failureMode"] == "FailOpen"
        (monitor,) = [d for d in docs if d["kind"] == "ServiceMonitor"]
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack", "kube-prometheus-stack selects it"
        (config,) = [d for d in docs if d["kind"] == "ConfigMap"]
        plugins = yaml.safe_load(config["data"]["default-plugins.yaml"])
        assert {p["type"] for p in plugins["plugins"]} >= {"queue-scorer", "kv-cache-utilization-scorer", "prefix-cache-scorer"}


def test_envoy_gateway_hands_inference_pools_to_the_extension_server(tmp_path):
    values = envoy_gateway(inference_pools=True)
    unknown = _helm(GATEWAY_CHART, values, tmp_path, "--unknown-values").stdout.split()
    # The chart merges config.envoyGateway whole into its config file, which the key scan
    # cannot follow; the rendered file below shows each of these keys arrives.
    assert unknown and all(key.startswith("config.envoyGateway.extensionManager.") for key in unknown), unknown
    docs = _render(GATEWAY_CHART, values, "eg", "envoy-gateway-system", tmp_path)
    (config,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "envoy-gateway-config"]
    envoy_gateway_config = yaml.safe_load(config["data"]["envoy-gateway.yaml"])
    manager = envoy_gateway_config["extensionManager"]
    assert manager["backendResources"] == [{"group": "inference.networking.k8s.io", "kind": "InferencePool", "version": "v1"}]
    assert manager["service"]["fqdn"] == {"hostname": "ai-gateway-controller.envoy-ai-gateway-system.svc.cluster.local", "port": 1063}
    assert "failOpen" not in manager, "a failing hook keeps the last good xDS instead of dropping the pools"
    assert envoy_gateway_config["provider"]["type"] == "Kubernetes"
    assert envoy_gateway_config["gateway"]["controllerName"] == "gateway.envoyproxy.io/gatewayclass-controller"
    assert envoy_gateway(inference_pools=False) == {}


# --- intent ----------------------------------------------------------------------------------


def test_picker_edits_that_cannot_work_are_refused():
    errors = errors_of(ModelSpec, {**TRITON, "routing": PICKER})
    assert "vLLM replicas" in errors[("routing", "balancer")]
    idle = {**VLLM, "routing": PICKER, "autoscaling": {"scale_to_zero": True, "max_replicas": 2}}
    assert "KEDA interceptor" in errors_of(ModelSpec, idle)[("routing", "balancer")]
    long_name = {**VLLM, "name": "a" * 36, "version": "v12345", "routing": PICKER}
    assert "cut to 40 characters" in errors_of(ModelSpec, long_name)[("version",)]
    at_limit = {**VLLM, "name": "a" * 36, "version": "v12", "routing": PICKER}
    ModelSpec.model_validate(at_limit)


def test_an_automated_rollout_and_the_picker_are_refused_together():
    automated = {**VLLM, "routing": PICKER, "automated_rollout": True}
    message = errors_of(ModelSpec, automated)[("routing", "balancer")]
    assert "Flagger owns the HTTPRoute" in message and "choose automated_rollout or the endpoint picker" in message
    ModelSpec.model_validate({**VLLM, "routing": PICKER})
    ModelSpec.model_validate({**VLLM, "automated_rollout": True})


def test_experiment_and_shadow_versions_are_held_to_the_picker_name_limit():
    variants = [
        {"name": "control", "version": "v1", "match": {"kind": "header", "name": "x-arm", "value": "a"}},
        {"name": "treatment", "version": "v123456", "source": "s3://bucket/llama/v2/",
         "match": {"kind": "header", "name": "x-arm", "value": "b"}},
    ]
    base = {**VLLM, "name": "a" * 33, "routing": PICKER}
    errors = errors_of(ModelSpec, {**base, "experiment": {"name": "e", "variants": variants}})
    assert "cut to 40 characters" in errors[("experiment", "variants", 1, "version")]
    assert ("experiment", "variants", 0, "version") not in errors
