import copy

import pytest

from components.intent.model import ModelSpec, VllmEngine
from tests.intent.helpers import TRITON, VLLM, errors_of


def test_reference_architectures_resolve_to_their_shapes():
    engine = ModelSpec.model_validate(VLLM).vllm
    assert engine.resolved_architecture().num_kv_heads == 8
    assert engine.gpu_memory_utilization == 0.90


def test_unknown_instance_type_suggests_the_closest():
    errors = errors_of(ModelSpec, {**VLLM, "instance_type": "g6e.xlarg"})
    message = errors[("instance_type",)]
    assert message.startswith("'g6e.xlarg' is not an EC2 instance type (did you mean g6e.xlarge?); known: g5.12xlarge,")


def test_gpus_per_replica_must_divide_the_instance():
    errors = errors_of(ModelSpec, {**VLLM, "instance_type": "g6e.12xlarge", "gpus": 3})
    assert errors == {
        ("gpus",): "g6e.12xlarge has 4 GPU(s); gpus per replica (3) must divide that evenly so whole replicas fill the instance"
    }


def test_gpus_per_replica_cannot_exceed_the_instance():
    errors = errors_of(ModelSpec, {**VLLM, "gpus": 2})
    assert errors == {
        ("gpus",): "g6e.xlarge has 1 GPU(s); gpus per replica (2) must divide that evenly so whole replicas fill the "
        "instance. A replica across nodes needs an EFA instance type (p4d.24xlarge, p4de.24xlarge, p5.48xlarge, "
        "p5en.48xlarge)"
    }


def test_runtime_block_must_match_the_runtime():
    data = {**VLLM, "triton": TRITON["triton"]}
    del data["vllm"]
    errors = errors_of(ModelSpec, data)
    assert errors == {
        ("vllm",): "runtime vllm needs a `vllm` block",
        ("triton",): "`triton` settings do not apply to runtime vllm",
    }


def test_slo_must_suit_the_runtime():
    assert errors_of(ModelSpec, {**VLLM, "slo": {"latency_p99_ms": 1000}}) == {
        ("slo", "ttft_p99_ms"): "a vLLM model needs a time-to-first-token objective"
    }
    assert errors_of(ModelSpec, {**TRITON, "slo": {"latency_p99_ms": 90, "ttft_p99_ms": 50}}) == {
        ("slo", "ttft_p99_ms"): "Triton reports no token timings; use latency_p99_ms"
    }


def test_unknown_architecture_lists_the_references():
    errors = errors_of(VllmEngine, {"architecture": "llama-3.1-8", "max_model_len": 4096})
    assert errors == {
        ("architecture",): "unknown architecture 'llama-3.1-8' (did you mean llama-3.1-8b?); use one of llama-3.1-405b, llama-3.1-70b, "
        "llama-3.1-8b, mistral-7b-v0.3, mixtral-8x7b, qwen2.5-72b, qwen2.5-7b or give params_billion, num_layers, "
        "num_kv_heads, head_dim and max_position_embeddings"
    }


def test_context_longer_than_the_model_was_trained_for():
    errors = errors_of(VllmEngine, {"architecture": "qwen2.5-7b", "max_model_len": 65536})
    assert errors == {("max_model_len",): "max_model_len (65536) exceeds the model's context (32768)"}


def test_explicit_architecture_numbers_are_accepted():
    shape = {"params_billion": 3.2, "num_layers": 28, "num_kv_heads": 8, "head_dim": 128, "max_position_embeddings": 131072}
    engine = VllmEngine.model_validate({"architecture": shape, "max_model_len": 4096})
    assert engine.resolved_architecture().params_billion == 3.2


def test_canary_must_bring_new_weights_and_a_new_label():
    canary = {"version": "v1", "source": VLLM["source"], "traffic_percent": 10, "gates": [{"metric": "error_rate", "max_value": 0.01}]}
    errors = errors_of(ModelSpec, {**VLLM, "canary": canary})
    assert errors == {
        ("canary", "version"): "the candidate needs a version label other than the stable one (v1)",
        ("canary", "source"): "the candidate serves the same weights as the stable version; point it at the new ones",
    }


def test_canary_and_scale_to_zero_exclude_each_other():
    canary = {"version": "v2", "source": "s3://bucket/llama/v2/", "traffic_percent": 10,
              "gates": [{"metric": "ttft_p99", "max_value": 2500}]}
    data = {**VLLM, "canary": canary, "autoscaling": {"scale_to_zero": True}}
    errors = errors_of(ModelSpec, data)
    assert errors == {
        ("canary",): "a canary compares two live versions, so it cannot run while scale_to_zero is on; "
        "finish or roll back the canary first"
    }


def test_ttft_gate_needs_vllm():
    canary = {"version": "v2", "source": "s3://bucket/classifier/v2/", "traffic_percent": 10,
              "gates": [{"metric": "ttft_p99", "max_value": 200}]}
    errors = errors_of(ModelSpec, {**TRITON, "canary": canary})
    assert errors == {("canary", "gates", 0, "metric"): "ttft_p99 needs token timings, which only vLLM reports; use latency_p99"}


@pytest.mark.parametrize(
    "name, message",
    [
        ("Llama", "'Llama' is not valid: use 1-36 characters: lowercase letters, digits and '-', starting with a letter and not ending with '-'"),
        ("a" * 37, None),
        ("8b-llama", None),
        ("llama-", None),
    ],
)
def test_model_names_are_dns_labels(name, message):
    errors = errors_of(ModelSpec, {**VLLM, "name": name})
    assert ("name",) in errors
    if message:
        assert errors[("name",)] == message


def test_sources_are_s3_or_hugging_face():
    errors = errors_of(ModelSpec, {**VLLM, "source": "gs://bucket/model"})
    assert errors == {
        ("source",): "'gs://bucket/model' is not valid: expected s3://<bucket>/<prefix>/ or hf://<organisation>/<model>[@<revision>]"
    }
    assert ModelSpec.model_validate({**VLLM, "source": "hf://meta-llama/Llama-3.1-8B-Instruct"}).source.startswith("hf://")


def test_triton_batching_rules():
    triton = copy.deepcopy(TRITON)
    triton["triton"]["max_batch_size"] = 0
    triton["triton"]["dynamic_batching"] = {"preferred_batch_size": [4]}
    errors = errors_of(ModelSpec, triton)
    assert errors == {("triton", "dynamic_batching"): "dynamic batching needs max_batch_size > 0"}
    triton["triton"]["max_batch_size"] = 2
    errors = errors_of(ModelSpec, triton)
    assert errors == {("triton", "dynamic_batching", "preferred_batch_size"): "preferred batch sizes [4] exceed max_batch_size (2)"}


def test_triton_needs_an_s3_model_repository():
    message = (
        "a Triton model is served from a model repository in S3 (s3://<bucket>/<prefix>/), "
        "where ml-serving writes its config.pbtxt"
    )
    assert errors_of(ModelSpec, {**TRITON, "source": "hf://org/classifier"}) == {("source",): message}
    canary = {"version": "v2", "source": "hf://org/classifier-v2", "traffic_percent": 10,
              "gates": [{"metric": "error_rate", "max_value": 0.01}]}
    assert errors_of(ModelSpec, {**TRITON, "canary": canary}) == {("canary", "source"): message}


def test_hub_sources_may_pin_a_revision():
    pinned = ModelSpec.model_validate({**VLLM, "source": "hf://meta-llama/Llama-3.1-8B-Instruct@" + "ab12" * 10})
    assert pinned.source.endswith("@" + "ab12" * 10)
    assert errors_of(ModelSpec, {**VLLM, "source": "hf://org/model@"})
