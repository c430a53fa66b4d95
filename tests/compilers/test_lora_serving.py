"""LoRA adapters on EKS: static `--lora-modules` from a local volume an init container fills from S3."""
import json

from components.compilers.kserve import inference_service
from components.compilers.rollout import served_versions
from components.compilers.sources import model_prefixes
from tests.factories import model_of

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-serving-vllm@sha256:" + "a" * 64
ADAPTER = {
    "name": "llama-8b-sql",
    "source": "s3://acme-ml-serving-models-staging/adapters/sql/v1/",
    "base_model": "llama-3.1-8b",
    "rank": 64,
}


def _predictor(model, index=0):
    return inference_service(served_versions(model)[index], "l40s", "us-east-1", False, IMAGE)["spec"]["predictor"]


def _lora_modules(args):
    start = args.index("--lora-modules") + 1
    return [json.loads(item) for item in args[start:] if item.startswith("{")]


def test_staging_adapter_is_copied_then_served_statically():
    predictor = _predictor(model_of("staging", "llama-8b"))
    args = predictor["model"]["args"]
    assert "--enable-lora" in args
    assert "--max-loras=1" in args and "--max-lora-rank=16" in args and "--max-cpu-loras=1" in args
    assert _lora_modules(args) == [
        {"name": "llama-8b-support", "path": "/adapters/llama-8b-support", "base_model_name": "llama-8b"}
    ]
    (init,) = predictor["initContainers"]
    assert init["image"] == IMAGE
    assert init["command"] == ["/usr/local/bin/ml-serving-fetch-adapters"]
    assert init["args"] == [
        "s3://acme-ml-serving-models-staging/adapters/llama-8b-support/v3/=/adapters/llama-8b-support"
    ]
    assert init["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "adapters", "emptyDir": {}} in predictor["volumes"]
    assert {"name": "adapters", "mountPath": "/adapters", "readOnly": True} in predictor["model"]["volumeMounts"]
    assert {"name": "adapters", "mountPath": "/adapters"} in init["volumeMounts"]


def test_rank_flag_is_the_highest_adapter_rank_and_slots_follow_max_loras():
    staging = model_of("staging", "llama-8b")
    adapters = [a.model_dump() for a in staging.vllm.adapters] + [ADAPTER]
    model = model_of("staging", "llama-8b", vllm={"adapters": adapters, "max_loras": 2}, canary=None, experiment=None)
    args = _predictor(model)["model"]["args"]
    assert "--max-lora-rank=64" in args and "--max-loras=2" in args and "--max-cpu-loras=2" in args
    assert [m["name"] for m in _lora_modules(args)] == ["llama-8b-support", "llama-8b-sql"]


def test_a_model_without_adapters_renders_no_lora_flags_or_init_container():
    predictor = _predictor(model_of("prod", "llama-8b"))
    assert not any("lora" in arg for arg in predictor["model"]["args"])
    assert "initContainers" not in predictor
    assert all(v["name"] != "adapters" for v in predictor["volumes"])


def test_adapter_canary_runs_the_same_base_with_the_new_adapter_weights():
    canary = {
        "version": "v4",
        "adapter": "llama-8b-support",
        "source": "s3://acme-ml-serving-models-staging/adapters/llama-8b-support/v4/",
        "steps": [10, 50, 100],
        "traffic_percent": 10,
        "previous_percent": 0,
        "gates": [{"metric": "error_rate", "max_value": 0.02}],
    }
    model = model_of("staging", "llama-8b", canary=canary, experiment=None, shadow=None)
    stable, candidate = served_versions(model)
    assert candidate.source == stable.source == model.source, "the base weights do not change"
    assert candidate.weight == 10 and candidate.name == "llama-8b-v4"
    init = _predictor(model, index=1)["initContainers"][0]
    assert init["args"] == [f"{canary['source']}=/adapters/llama-8b-support"]
    assert _predictor(model, index=0)["initContainers"][0]["args"][0].startswith(
        "s3://acme-ml-serving-models-staging/adapters/llama-8b-support/v3/="
    )


def test_model_reader_may_read_the_adapter_prefixes():
    prefixes = model_prefixes([model_of("staging", "llama-8b")])
    assert "adapters/llama-8b-support/v3/" in prefixes
