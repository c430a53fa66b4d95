"""LoRA adapters served on a vLLM base model, and the GPU memory vLLM reserves for them.

vLLM 0.31.0 (vllm/config/lora.py, vllm/lora/) keeps `max_loras` adapter slots on every GPU,
each sized for `max_lora_rank` whatever rank the loaded adapter has, for every linear layer
it can adapt: the fused q/k/v projection, the output projection, the fused gate/up
projection and the down projection. A slot holds A (rank x in) and B (out x rank) per
layer, in the model dtype. The fit check counts `max_loras` such slots at the highest rank.

The adapter paths vLLM accepts are local directories or Hugging Face repositories
(vllm/lora/utils.py get_adapter_absolute_path), not s3://, so an init step copies each
adapter from the model bucket to a local volume before the server starts.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.intent.architecture import LlmArchitecture
from components.intent.base import ModelName, ModelSource, Spec, VersionLabel

# vllm/config/lora.py MaxLoRARanks at v0.31.0.
LoraRank = Literal[1, 8, 16, 32, 64, 128, 256, 320, 512]


class LoraAdapter(Spec):
    """A fine-tuned adapter clients ask for by name, on the base model it was trained from."""

    name: ModelName = Field(description="Name clients send as `model` to use this adapter.")
    source: ModelSource = Field(
        description="The adapter's folder (adapter_config.json and weights) in the model bucket: s3://<bucket>/<prefix>/."
    )
    base_model: str = Field(
        min_length=1,
        max_length=64,
        description="The checkpoint the adapter was trained on: the architecture name of the model it runs on.",
    )
    rank: LoraRank = Field(description="The adapter's LoRA rank `r` (adapter_config.json).")
    version: VersionLabel = Field("v1", description="Label of this adapter's weights; a canary can target a new one.")


def intermediate_size(arch: LlmArchitecture) -> float:
    """The MLP width, recovered from the parameter count when config.json's
    intermediate_size is not given: each layer holds attention (q, k, v, o) and a gated MLP
    (gate, up, down); the embeddings hold the rest. Within 0.1 % of config.json for the dense
    presets. For a mixture of experts the active parameters span the top-k experts, so the
    width comes out k times one expert's: an over-count, which errs on the safe side."""
    assert arch.hidden_size is not None
    hidden = arch.hidden_size
    params = (arch.active_params_billion or arch.params_billion) * 1e9
    per_layer = (params - (arch.embedding_params() or 0.0)) / arch.num_layers
    kv = arch.num_kv_heads * arch.head_dim
    attention = hidden * (hidden + 2 * kv) + hidden * hidden
    return max(0.0, (per_layer - attention) / (3 * hidden))


def lora_slot_bytes(arch: LlmArchitecture, rank: int, dtype_bytes: int) -> float:
    """One adapter slot on one GPU. Tensor parallelism shards only one of A and B of each
    layer, so a slot is counted whole on every GPU (an upper bound by at most 2x)."""
    assert arch.hidden_size is not None
    hidden = arch.hidden_size
    kv = arch.num_kv_heads * arch.head_dim
    inter = intermediate_size(arch)
    # (in + out) of qkv, o, gate_up and down.
    per_rank = (hidden + hidden + 2 * kv) + (hidden + hidden) + (hidden + 2 * inter) + (inter + hidden)
    return arch.num_layers * rank * per_rank * dtype_bytes


def lora_bytes_per_gpu(arch: LlmArchitecture, max_loras: int, max_rank: int, dtype_bytes: int) -> float:
    return max_loras * lora_slot_bytes(arch, max_rank, dtype_bytes)
