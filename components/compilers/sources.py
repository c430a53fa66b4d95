"""Where model weights come from: the parts of s3:// and hf:// sources other layers need."""
from __future__ import annotations

from components.intent.model import ModelSpec


def s3_prefix(source: str) -> str | None:
    """`s3://bucket/a/b/` (or `.../a/b`) -> `a/b/`; None for a source outside S3. A source is
    a folder: without the slash, `a/v1` would also cover `a/v10/`."""
    if not source.startswith("s3://"):
        return None
    prefix = source[len("s3://"):].split("/", 1)[1]
    return prefix if prefix.endswith("/") else f"{prefix}/"


def model_prefixes(models: list[ModelSpec]) -> list[str]:
    """Every S3 prefix a model version reads, stable and candidate, and its LoRA adapters',
    without repeats."""
    prefixes: list[str] = []
    for model in models:
        adapters = [adapter.source for adapter in model.vllm.adapters] if model.vllm is not None else []
        for source in (model.source, model.canary.source if model.canary else None, *adapters):
            prefix = s3_prefix(source) if source else None
            if prefix is not None and prefix not in prefixes:
                prefixes.append(prefix)
    return prefixes
