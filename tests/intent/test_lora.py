"""LoRA adapters on a vLLM model: what vLLM reserves for them, and the edits that must be refused."""
import pytest

from components.intent.architecture import presets
from components.intent.lora import intermediate_size, lora_slot_bytes
from components.intent.memory import MIB
from components.intent.model import ModelSpec
from tests.intent.helpers import VLLM, errors_of

ADAPTER = {"name": "support", "source": "s3://bucket/adapters/support/v1/", "base_model": "llama-3.1-8b", "rank": 16}


def with_adapters(*adapters, **engine):
    return {**VLLM, "vllm": {**VLLM["vllm"], "adapters": list(adapters), **engine}}


def test_mlp_width_recovered_from_parameter_count_matches_config_json():
    # intermediate_size in each model's config.json.
    expected = {"llama-3.1-8b": 14336, "llama-3.1-70b": 28672, "mistral-7b-v0.3": 14336, "qwen2.5-7b": 18944, "qwen2.5-72b": 29568}
    for name, width in expected.items():
        assert intermediate_size(presets()[name]) == pytest.approx(width, rel=0.002), name


def test_one_rank_16_slot_of_llama_8b_is_68_mib():
    # 32 layers x 16 x (qkv 4096+6144, o 4096+4096, gate_up 4096+28672, down 14336+4096) x 2 bytes.
    assert lora_slot_bytes(presets()["llama-3.1-8b"], 16, 2) == pytest.approx(32 * 16 * 69_632 * 2, rel=1e-4)
    assert lora_slot_bytes(presets()["llama-3.1-8b"], 16, 2) / MIB == pytest.approx(68.0)


def test_memory_plan_counts_max_loras_slots_at_the_highest_rank():
    big = {**ADAPTER, "name": "big", "rank": 64}
    model = ModelSpec.model_validate(with_adapters(ADAPTER, big, max_loras=2))
    plan = model.memory_plan()
    assert plan.lora_bytes_per_gpu == 2 * lora_slot_bytes(presets()["llama-3.1-8b"], 64, 2)
    bare = ModelSpec.model_validate(VLLM).memory_plan()
    assert plan.kv_bytes_per_gpu == pytest.approx(bare.kv_bytes_per_gpu - plan.lora_bytes_per_gpu)


def test_default_max_loras_is_every_adapter_up_to_four():
    adapters = [{**ADAPTER, "name": f"a{i}"} for i in range(6)]
    engine = ModelSpec.model_validate(with_adapters(*adapters)).vllm
    assert engine.resolved_max_loras() == 4
    assert engine.resolved_max_cpu_loras() == 6
    assert ModelSpec.model_validate(with_adapters(ADAPTER)).vllm.resolved_max_loras() == 1


def _longest_context(adapters, **engine) -> int:
    """The largest max_model_len the fit check accepts on an L4 (probe with a short one)."""
    probe = {**with_adapters(*adapters, **engine), "instance_type": "g6.xlarge"}
    probe["vllm"] = {**probe["vllm"], "max_model_len": 1024}
    return ModelSpec.model_validate(probe).memory_plan().kv_tokens


def test_adapter_slots_move_the_fit_boundary_exactly():
    adapters = [{**ADAPTER, "name": f"a{i}", "rank": 64} for i in range(4)]
    limit = _longest_context(adapters, max_loras=4)
    assert limit < _longest_context([]), "slots take memory from the KV cache"
    at_limit = {**with_adapters(*adapters, max_loras=4, max_model_len=limit), "instance_type": "g6.xlarge"}
    ModelSpec.model_validate(at_limit)
    over = {**with_adapters(*adapters, max_loras=4, max_model_len=limit + 16), "instance_type": "g6.xlarge"}
    errors = errors_of(ModelSpec, over)
    message = errors[("vllm", "max_model_len")]
    assert "LoRA adapter slots" in message and "lower max_loras" in message
    assert f"at most {limit:,}" in message
    # The same context fits with fewer slots.
    fewer = {**with_adapters(*adapters, max_loras=1, max_model_len=limit + 16), "instance_type": "g6.xlarge"}
    ModelSpec.model_validate(fewer)


def test_adapter_edits_that_would_not_start_or_would_serve_wrong_output_are_refused():
    errors = errors_of(
        ModelSpec,
        with_adapters(
            {**ADAPTER, "base_model": "mistral-7b-v0.3"},
            {**ADAPTER, "source": "hf://org/support-lora"},
            max_loras=4,
            max_cpu_loras=2,
        ),
    )
    assert "trained on mistral-7b-v0.3" in errors[("vllm", "adapters", 0, "base_model")]
    assert "model bucket" in errors[("vllm", "adapters", 1, "source")]
    assert "repeated: support" in errors[("vllm", "adapters")]
    assert "exceeds the 2 adapter(s)" in errors[("vllm", "max_loras")]
    assert "at least max_loras (4)" in errors[("vllm", "max_cpu_loras")]


def test_an_adapter_named_like_its_base_model_is_refused():
    errors = errors_of(ModelSpec, with_adapters({**ADAPTER, "name": "llama-8b"}))
    assert "other than its base model's" in errors[("vllm", "adapters", 0, "name")]


def test_rank_must_be_one_vllm_accepts():
    errors = errors_of(ModelSpec, with_adapters({**ADAPTER, "rank": 24}))
    assert ("vllm", "adapters", 0, "rank") in errors


def test_lora_settings_without_adapters_are_refused():
    errors = errors_of(ModelSpec, {**VLLM, "vllm": {**VLLM["vllm"], "max_loras": 2}})
    assert errors[("vllm", "max_loras")] == "max_loras applies only to a model with adapters"


def test_custom_architecture_needs_its_width_for_adapters():
    shape = {"params_billion": 8, "num_layers": 32, "num_kv_heads": 8, "head_dim": 128, "max_position_embeddings": 131072}
    data = with_adapters({**ADAPTER, "base_model": "custom"}, architecture=shape)
    assert "give hidden_size and vocab_size" in errors_of(ModelSpec, data)[("vllm", "architecture")]


CANARY = {
    "version": "v2",
    "steps": [10, 100],
    "traffic_percent": 10,
    "gates": [{"metric": "error_rate", "max_value": 0.05}],
}


def test_a_canary_can_target_an_adapter_version():
    data = {**with_adapters(ADAPTER), "canary": {**CANARY, "adapter": "support", "source": "s3://bucket/adapters/support/v2/"}}
    ModelSpec.model_validate(data)
    same = {**with_adapters(ADAPTER), "canary": {**CANARY, "adapter": "support", "source": ADAPTER["source"]}}
    assert "same weights" in errors_of(ModelSpec, same)[("canary", "source")]
    unknown = {**with_adapters(ADAPTER), "canary": {**CANARY, "adapter": "sales", "source": "s3://bucket/a/v2/"}}
    assert "does not serve (adapters: support)" in errors_of(ModelSpec, unknown)[("canary", "adapter")]
