"""Transformer shapes a vLLM model declares, for the GPU memory fit check and the planner."""
from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import Field

from components.intent.base import Spec


class LlmArchitecture(Spec):
    """The numbers from a model's config.json that decide its memory footprint."""

    params_billion: float = Field(gt=0, le=2000, description="Total parameters, in billions.")
    num_layers: int = Field(ge=1, le=512, description="`num_hidden_layers`.")
    num_kv_heads: int = Field(ge=1, le=512, description="`num_key_value_heads` (GQA).")
    head_dim: int = Field(ge=16, le=1024, description="`hidden_size / num_attention_heads`.")
    max_position_embeddings: int = Field(
        ge=512, le=10_000_000, description="The longest context the model was trained for."
    )
    hidden_size: int | None = Field(
        None, ge=64, le=65_536, description="`hidden_size`; with vocab_size it sizes the 16-bit embeddings of a quantized checkpoint."
    )
    vocab_size: int | None = Field(
        None, ge=256, le=2_000_000, description="`vocab_size`; with hidden_size it sizes the 16-bit embeddings of a quantized checkpoint."
    )
    tie_word_embeddings: bool = Field(
        False, description="`tie_word_embeddings`: the output head shares the input embedding matrix."
    )
    active_params_billion: float | None = Field(
        None, gt=0, le=2000, description="Mixture of experts: parameters one token passes through (the planner's decode cost)."
    )

    def embedding_params(self) -> float | None:
        """Parameters of the input embedding and the output head, which quantized checkpoints keep in 16 bits."""
        if self.hidden_size is None or self.vocab_size is None:
            return None
        matrices = 1 if self.tie_word_embeddings else 2
        return float(matrices * self.vocab_size * self.hidden_size)


@cache
def presets() -> dict[str, LlmArchitecture]:
    text = resources.files("components.intent").joinpath("data/architectures.yaml").read_text()
    data = yaml.safe_load(text)
    return {name: LlmArchitecture.model_validate(shape) for name, shape in data["architectures"].items()}
