"""Multi-node fit: tensor parallel inside a node, pipeline parallel across nodes."""
import pytest

from components.intent.architecture import presets
from components.intent.memory import plan_memory
from components.intent.multinode import nodes_needed, split_for

LLAMA_405B = presets()["llama-3.1-405b"]


def test_pipeline_stages_split_weights_and_kv_layers():
    one = split_for(LLAMA_405B, "p5.48xlarge", 1, max_model_len=8192, quantization="fp8").plan
    two = split_for(LLAMA_405B, "p5.48xlarge", 2, max_model_len=8192, quantization="fp8").plan
    assert two.weights_bytes_per_gpu == pytest.approx(one.weights_bytes_per_gpu / 2)
    assert two.num_layers == 63 and one.num_layers == 126
    assert two.kv_bytes_per_token_per_gpu * 2 == one.kv_bytes_per_token_per_gpu
    three = split_for(LLAMA_405B, "p5.48xlarge", 4, max_model_len=8192, quantization="fp8").plan
    assert three.num_layers == 32, "126 layers in 4 stages: the busiest stage holds 32"


def test_405b_in_bf16_needs_exactly_two_p5_nodes():
    one = split_for(LLAMA_405B, "p5.48xlarge", 1, max_model_len=32768)
    assert not one.plan.fits and one.plan.kv_tokens == 0, "94.5 GiB of weights per 80 GiB H100"
    split = nodes_needed(LLAMA_405B, "p5.48xlarge", max_model_len=32768)
    assert (split.nodes, split.gpus) == (2, 16)
    assert split.usd_per_hour == pytest.approx(2 * 98.32)


def test_405b_in_fp8_fits_one_p5_node_but_two_a100_40gb_nodes():
    assert nodes_needed(LLAMA_405B, "p5.48xlarge", max_model_len=32768, quantization="fp8").nodes == 1
    assert nodes_needed(LLAMA_405B, "p4d.24xlarge", max_model_len=32768, quantization="fp8").nodes == 2
    # One H200 node holds it even in bf16, for less than two H100 nodes.
    h200 = nodes_needed(LLAMA_405B, "p5en.48xlarge", max_model_len=32768)
    assert h200.nodes == 1 and h200.usd_per_hour < nodes_needed(LLAMA_405B, "p5.48xlarge", max_model_len=32768).usd_per_hour


def test_the_context_decides_at_the_boundary():
    two = split_for(LLAMA_405B, "p4d.24xlarge", 2, max_model_len=1024, quantization="fp8").plan
    limit = two.kv_tokens
    assert split_for(LLAMA_405B, "p4d.24xlarge", 2, max_model_len=limit, quantization="fp8").plan.fits
    assert not split_for(LLAMA_405B, "p4d.24xlarge", 2, max_model_len=limit + 16, quantization="fp8").plan.fits


def test_a_single_stage_plan_is_the_plan_without_pipeline_parallelism():
    arch = presets()["llama-3.1-70b"]
    base = plan_memory(arch, gpu="L40S", gpu_memory_mib=45776, tensor_parallel=4, max_model_len=8192)
    assert plan_memory(arch, gpu="L40S", gpu_memory_mib=45776, tensor_parallel=4, max_model_len=8192, pipeline_parallel=1) == base


def test_nothing_fits_when_even_eight_nodes_are_too_small():
    assert nodes_needed(LLAMA_405B, "g6.12xlarge", max_model_len=131072) is None
