import pytest

from components.compilers.kserve import (
    cluster_serving_runtime,
    inference_service,
    pod_size,
    startup_budget_s,
)
from components.compilers.rollout import served_versions
from tests.factories import manual_canary_of, model_of

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-serving-vllm@sha256:" + "a" * 64


def _isvc(model, surge=False, index=0):
    return inference_service(served_versions(model)[index], "l40s", "us-east-1", surge)


def test_vllm_runtime():
    runtime = cluster_serving_runtime("vllm", IMAGE)
    assert runtime["metadata"]["name"] == "ml-serving-vllm"
    container = runtime["spec"]["containers"][0]
    assert container["name"] == "kserve-container" and container["image"] == IMAGE
    assert container["args"] == ["--port=8080"]
    assert container["ports"] == [{"name": "http1", "containerPort": 8080, "protocol": "TCP"}]
    assert container["securityContext"]["runAsNonRoot"] is True
    assert runtime["spec"]["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_triton_runtime_declares_its_metrics_port_and_latency_quantiles():
    container = cluster_serving_runtime("triton", IMAGE)["spec"]["containers"][0]
    assert {"name": "metrics", "containerPort": 8002, "protocol": "TCP"} in container["ports"]
    assert "--metrics-config=summary_latencies=true" in container["args"]
    assert "--http-port=8080" in container["args"]


def test_standard_mode_written_literally_with_our_own_autoscaler():
    annotations = _isvc(model_of("prod", "llama-8b"))["metadata"]["annotations"]
    assert {k: v for k, v in annotations.items() if not k.startswith("checkov.io/")} == {
        "serving.kserve.io/deploymentMode": "Standard",
        "serving.kserve.io/autoscalerClass": "external",
    }


def test_gpu_requests_equal_limits():
    resources = _isvc(model_of("prod", "llama-70b"))["spec"]["predictor"]["model"]["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == "4"
    assert resources["requests"]["memory"] == resources["limits"]["memory"]


def test_memory_backed_shm_is_mounted_and_sized_for_tensor_parallelism():
    predictor = _isvc(model_of("prod", "llama-70b"))["spec"]["predictor"]
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}} in predictor["volumes"]
    assert {"name": "dshm", "mountPath": "/dev/shm"} in predictor["model"]["volumeMounts"]
    single = _isvc(model_of("prod", "llama-8b"))["spec"]["predictor"]
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}} in single["volumes"]


def test_engine_settings_become_vllm_flags():
    model = model_of("prod", "llama-8b", vllm={"quantization": "fp8", "kv_cache_dtype": "fp8", "gpu_memory_utilization": 0.92})
    args = _isvc(model)["spec"]["predictor"]["model"]["args"]
    assert args == [
        "--model=s3://acme-ml-serving-models-prod/llama-3.1-8b-instruct/v1/",
        "--load-format=runai_streamer",
        "--served-model-name=llama-8b",
        "--max-model-len=16384",
        "--gpu-memory-utilization=0.92",
        "--dtype=bfloat16",
        "--tensor-parallel-size=1",
        "--max-num-seqs=64",
        "--quantization=fp8",
        "--kv-cache-dtype=fp8",
    ]


@pytest.mark.parametrize(
    ("quantization", "dtype", "flag"),
    [
        ("awq", "bfloat16", "--quantization=awq_marlin"),
        ("gptq", "bfloat16", "--quantization=gptq_marlin"),
        ("awq", "float16", "--quantization=awq"),
        ("gptq", "float16", "--quantization=gptq"),
        ("fp8", "float16", "--quantization=fp8"),
    ],
)
def test_quantized_checkpoints_name_a_kernel_vllm_runs_in_their_dtype(quantization, dtype, flag):
    model = model_of("prod", "llama-70b", vllm={"quantization": quantization, "dtype": dtype,
                                                "architecture": "llama-3.1-70b"})
    args = _isvc(model)["spec"]["predictor"]["model"]["args"]
    assert f"--dtype={dtype}" in args
    assert [a for a in args if a.startswith("--quantization")] == [flag]


def test_candidate_serves_its_own_weights_under_the_same_model_name():
    candidate = _isvc(model_of("prod", "llama-8b"), index=1)
    args = candidate["spec"]["predictor"]["model"]["args"]
    assert "--model=s3://acme-ml-serving-models-prod/llama-3.1-8b-instruct/v2/" in args
    assert "--served-model-name=llama-8b" in args
    assert candidate["metadata"]["name"] == "llama-8b-v2"
    assert candidate["metadata"]["labels"]["ml-serving/version"] == "v2"


def test_promotion_leaves_the_candidates_pods_untouched():
    # At 100 %, then promoted (version and source moved, canary removed): the pod template of
    # the candidate's InferenceService must not change, or every replica restarts.
    at_full = manual_canary_of("prod", "llama-8b", 100)
    promoted = model_of("prod", "llama-8b", version="v2", source=at_full.canary.source, canary=None)
    before = _isvc(at_full, index=1, surge=True)["spec"]["predictor"]
    after = _isvc(promoted, surge=True)["spec"]["predictor"]
    differs = {key for key in set(before) | set(after) if before.get(key) != after.get(key)}
    assert differs == {"minReplicas"}, "only the replica floor moves, which changes no pod"


def test_hugging_face_sources_read_an_optional_token():
    model = model_of("dev", "llama-8b", source="hf://meta-llama/Llama-3.1-8B-Instruct")
    container = _isvc(model)["spec"]["predictor"]["model"]
    assert container["args"][0] == "--model=meta-llama/Llama-3.1-8B-Instruct"
    assert "--load-format=runai_streamer" not in container["args"]
    token = next(e for e in container["env"] if e["name"] == "HF_TOKEN")
    assert token["valueFrom"]["secretKeyRef"] == {"name": "hf-token", "key": "token", "optional": True}


def test_a_triton_config_change_restarts_the_servers():
    before = _isvc(model_of("dev", "sentiment"))["spec"]["predictor"]["annotations"]["ml-serving/triton-config"]
    after = _isvc(model_of("dev", "sentiment", triton={"max_batch_size": 32}))["spec"]["predictor"]["annotations"]
    assert len(before) == 12 and after["ml-serving/triton-config"] != before
    assert "annotations" not in _isvc(model_of("prod", "llama-8b"))["spec"]["predictor"]


def test_triton_loads_its_model_from_the_repository_prefix():
    container = _isvc(model_of("dev", "sentiment"))["spec"]["predictor"]["model"]
    assert container["args"] == [
        "--model-repository=s3://acme-ml-serving-models-dev/distilbert-sentiment-onnx/v3/",
        "--model-control-mode=explicit",
        "--load-model=sentiment",
    ]
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 8080}
    assert container["modelFormat"] == {"name": "triton", "version": "2"}


def test_probe_budget_grows_with_model_size():
    small_model, large_model = model_of("prod", "llama-8b"), model_of("prod", "llama-70b")
    # bf16 weights: 8.03e9 and 70.55e9 parameters x 2 bytes.
    assert round(small_model.weights_gib(), 1) == 15.0 and round(large_model.weights_gib(), 1) == 131.4
    small = _isvc(small_model)["spec"]["predictor"]["model"]["startupProbe"]
    large = _isvc(large_model)["spec"]["predictor"]["model"]["startupProbe"]
    assert small["failureThreshold"] * small["periodSeconds"] >= startup_budget_s(15.0) == 525
    assert large["failureThreshold"] * large["periodSeconds"] >= startup_budget_s(131.4) == 2271
    assert large["failureThreshold"] > small["failureThreshold"]
    assert model_of("dev", "sentiment").weights_gib() == 2 * 900 / 1024


def test_rollout_never_needs_a_gpu_the_pool_cannot_give():
    no_surge = _isvc(model_of("prod", "llama-70b"), surge=False)["spec"]["predictor"]["deploymentStrategy"]
    assert no_surge == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    surge = _isvc(model_of("prod", "llama-8b"), surge=True)["spec"]["predictor"]["deploymentStrategy"]
    assert surge["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}


def test_pods_spread_over_zones_run_non_root_on_their_pool():
    predictor = _isvc(model_of("prod", "llama-8b"))["spec"]["predictor"]
    assert predictor["nodeSelector"] == {"ml-serving/pool": "l40s"}
    assert predictor["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    assert predictor["topologySpreadConstraints"][0]["whenUnsatisfiable"] == "ScheduleAnyway"
    assert predictor["securityContext"]["runAsNonRoot"] is True
    assert predictor["model"]["securityContext"]["readOnlyRootFilesystem"] is True
    assert predictor["serviceAccountName"] == "model-reader"
    assert predictor["labels"]["ml-serving/runtime"] == "vllm"


def test_pod_size_is_the_replicas_share_of_its_node():
    assert pod_size(model_of("prod", "llama-8b")).__dict__ == {"cpu": "3", "memory": "24Gi", "shm": "2Gi"}
    assert pod_size(model_of("prod", "llama-70b")).__dict__ == {"cpu": "47", "memory": "288Gi", "shm": "16Gi"}
