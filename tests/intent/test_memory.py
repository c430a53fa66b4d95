"""GPU memory fit: a replica that vLLM (or Triton) could not start is rejected at validation."""
import pytest

from components.intent.architecture import presets
from components.intent.memory import GIB, kv_bytes_per_token, kv_heads_per_gpu, plan_memory, weight_bytes
from components.intent.model import ModelSpec
from tests.intent.helpers import TRITON as BASE_TRITON
from tests.intent.helpers import VLLM as BASE_VLLM
from tests.intent.helpers import errors_of

VLLM = {**BASE_VLLM, "instance_type": "g6.xlarge"}
TRITON = {
    **BASE_TRITON,
    "triton": {**BASE_TRITON["triton"], "instance_groups": [{"kind": "KIND_GPU", "count": 2}], "gpu_memory_mib_per_instance": 12_000},
}


def test_kv_bytes_per_token_match_the_reference_table():
    shapes = presets()
    assert kv_bytes_per_token(shapes["llama-3.1-8b"], 2) == 131_072
    assert kv_bytes_per_token(shapes["llama-3.1-70b"], 2) == 327_680
    assert kv_bytes_per_token(shapes["qwen2.5-7b"], 2) == 57_344
    assert kv_bytes_per_token(shapes["llama-3.1-70b"], 1) == 163_840, "an fp8 KV cache halves it"


def test_tensor_parallelism_splits_kv_heads_until_it_must_replicate_them():
    qwen = presets()["qwen2.5-7b"]  # 4 KV heads
    assert kv_heads_per_gpu(qwen, 2) == 2
    assert kv_heads_per_gpu(qwen, 4) == 1
    assert kv_heads_per_gpu(qwen, 8) == 1, "TP=8 replicates the 4 heads instead of splitting them"
    assert kv_bytes_per_token(qwen, 2, 8) == kv_bytes_per_token(qwen, 2, 4)


def test_quantized_checkpoints_keep_16_bit_embeddings():
    llama = presets()["llama-3.1-70b"]
    embeddings = 2 * 128_256 * 8192
    awq = weight_bytes(llama, "awq")
    assert awq == pytest.approx(embeddings * 2 + (70.55e9 - embeddings) * 4.25 / 8)
    assert awq / GIB == pytest.approx(37.8, abs=0.05), "not the flat 0.5 bytes/param (32.9 GiB) of a naive count"
    assert weight_bytes(llama, "fp8") > weight_bytes(llama, bytes_per_param=1)


def test_vllm_budget_is_a_share_of_what_ec2_reports():
    plan = plan_memory(presets()["llama-3.1-8b"], gpu="L4", gpu_memory_mib=22_888, tensor_parallel=1, max_model_len=8192)
    assert plan.budget_gib == pytest.approx(0.9 * 22_888 / 1024)
    assert plan.kv_gib_per_gpu == pytest.approx(plan.budget_gib - 8.03e9 * 2 / GIB - 1.5)
    assert plan.kv_tokens % 16 == 0 and plan.kv_tokens == 29_968
    assert plan.fits and plan.sequences_at(8192) == 3


def test_the_reference_stacks_models_fit():
    spec = ModelSpec.model_validate(VLLM)
    assert spec.memory_plan().fits


def test_a_context_too_long_for_the_kv_cache_is_rejected_with_the_numbers():
    errors = errors_of(ModelSpec, {**VLLM, "vllm": {"architecture": "llama-3.1-8b", "max_model_len": 65536}})
    assert errors == {
        ("vllm", "max_model_len"): "one request at max_model_len 65536 needs 8.00 GiB of KV cache per GPU, but vLLM "
        "may use 20.1 GiB of each L4 on g6.xlarge (gpu_memory_utilization 0.9 x 22.4 GiB as EC2 reports it), and "
        "after 15.0 GiB of weights and 1.5 GiB of activations and CUDA graphs only 3.66 GiB is left, so vLLM would "
        "refuse to start; set max_model_len to at most 29,968, use kv_cache_dtype fp8, raise "
        "gpu_memory_utilization or use more GPUs per replica"
    }


def test_an_fp8_kv_cache_makes_the_same_context_fit():
    ModelSpec.model_validate(
        {**VLLM, "vllm": {"architecture": "llama-3.1-8b", "max_model_len": 32768, "kv_cache_dtype": "fp8"}}
    )


def test_weights_larger_than_the_gpu_are_rejected_at_the_instance_type():
    data = {**VLLM, "instance_type": "g6e.xlarge", "vllm": {"architecture": "llama-3.1-70b", "max_model_len": 8192}}
    assert errors_of(ModelSpec, data) == {
        ("instance_type",): "llama-3.1-70b in bfloat16 needs 131.4 GiB of weights per GPU with gpus=1, but vLLM may "
        "use 40.2 GiB of each L40S on g6e.xlarge (gpu_memory_utilization 0.9 x 44.7 GiB as EC2 reports it), and "
        "1.5 GiB of that goes to activations and CUDA graphs, which leaves nothing for the KV cache; use more GPUs "
        "per replica, quantize the weights (fp8, awq or gptq) or pick a GPU with more memory"
    }


def test_four_bit_70b_on_one_l40s_leaves_too_little_kv_for_8k():
    # The worked table's flat 0.5 bytes/param promises 5.9 GiB of KV here; counting the
    # group scales and the 16-bit embeddings leaves under 1 GiB.
    data = {
        **VLLM,
        "instance_type": "g6e.xlarge",
        "vllm": {"architecture": "llama-3.1-70b", "max_model_len": 8192, "quantization": "awq"},
    }
    message = errors_of(ModelSpec, data)[("vllm", "max_model_len")]
    assert "after 37.8 GiB of weights and 1.5 GiB of activations and CUDA graphs only 0.95 GiB is left" in message
    assert "set max_model_len to at most 3,120" in message


def test_tensor_parallel_70b_fits_four_l40s():
    data = {**VLLM, "instance_type": "g6e.12xlarge", "gpus": 4, "vllm": {"architecture": "llama-3.1-70b", "max_model_len": 8192}}
    plan = ModelSpec.model_validate(data).memory_plan()
    assert plan.fits and plan.weights_gib_per_gpu == pytest.approx(32.85, abs=0.01)


def test_quantized_explicit_architectures_must_size_their_embeddings():
    shape = {"params_billion": 8, "num_layers": 32, "num_kv_heads": 8, "head_dim": 128, "max_position_embeddings": 8192}
    data = {**VLLM, "vllm": {"architecture": shape, "max_model_len": 4096, "quantization": "gptq"}}
    assert errors_of(ModelSpec, data) == {
        ("vllm", "architecture"): "gptq checkpoints keep their embeddings in 16 bits; give hidden_size and vocab_size "
        "(from config.json) so the GPU memory check can count them"
    }
    shape.update(hidden_size=4096, vocab_size=128_256)
    ModelSpec.model_validate({**data, "vllm": {**data["vllm"], "architecture": shape}})


def test_triton_instances_must_fit_one_gpu():
    assert errors_of(ModelSpec, TRITON) == {
        ("triton", "gpu_memory_mib_per_instance"): "2 GPU model instance(s) x 12,000 MiB = 24,000 MiB, but the L4 of "
        "g6.xlarge reports 22,888 MiB and Triton's CUDA context takes about 512 MiB, leaving 22,376 MiB; lower the "
        "instance_groups count or gpu_memory_mib_per_instance, or pick a GPU with more memory"
    }
    cpu_only = {**TRITON["triton"], "instance_groups": [{"kind": "KIND_CPU", "count": 4}]}
    ModelSpec.model_validate({**TRITON, "triton": cpu_only})
