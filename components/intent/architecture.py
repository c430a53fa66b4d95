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


@cache
def presets() -> dict[str, LlmArchitecture]:
    text = resources.files("components.intent").joinpath("data/architectures.yaml").read_text()
    data = yaml.safe_load(text)
    return {name: LlmArchitecture.model_validate(shape) for name, shape in data["architectures"].items()}
