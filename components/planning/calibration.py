"""`PROFILE=<file>`: a measured profile (components/intent/profile.py) read from JSON or YAML
and applied to one model's service model and cold-start chain in place of the assumptions.

vLLM: the decode step is fitted to the sweep's median TPOT per concurrency as
base + per-sequence x batch (the roofline's two terms: reading the weights, reading each
sequence's KV cache, the latter scaled by context), and the prefill time per token to TTFT
at the lowest concurrency less one step. Triton: the fitted batch latency. Cold start: the
stages the pod's events measured; the container's start is split between weight loading and
engine start in the assumed proportion (the events do not separate them).
"""
from __future__ import annotations

import difflib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pydantic
import yaml

from components.intent.model import ModelSpec
from components.intent.profile import Profile
from components.planning import platform
from components.planning.capacity import ServiceModel, TritonProfile, Workload

MAX_PROFILE_BYTES = 1 << 20


class ProfileError(ValueError):
    """A profile file that cannot be used; the message names the file and every problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        super().__init__("\n".join([f"{source}: {count} in the profile:", *(f"  - {p}" for p in problems)]))


def _path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(profile)"


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    model: Any = Profile
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(str(part))
        model = None
        if field is not None:
            for candidate in _models_in(field.annotation):
                model = candidate
    return sorted(model.model_fields) if model is not None else []


def _models_in(annotation: Any) -> list[type[pydantic.BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return [annotation]
    found: list[type[pydantic.BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()):
        found += _models_in(arg)
    return found


def _describe(error: Any) -> str:
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"{_path(loc)}: unknown field{hint}; allowed: {', '.join(allowed)}"
    if error["type"] == "missing":
        return f"{_path(loc)}: required field is missing"
    value = error.get("input")
    shown = "" if isinstance(value, (dict, list)) else f" (got {repr(value)[:60]})"
    return f"{_path(loc)}: {error['msg']}{shown}"


def parse_profile(data: Any, source: str) -> Profile:
    if not isinstance(data, dict):
        raise ProfileError(source, [f"(profile): expected a mapping of fields, got {type(data).__name__}"])
    try:
        return Profile.model_validate(data)
    except pydantic.ValidationError as error:
        problems = [_describe(e) for e in error.errors()]
        raise ProfileError(source, problems + [p for p in _cross_field(data) if p not in problems]) from None


def _cross_field(data: dict[str, Any]) -> list[str]:
    """The profile's cross-field rules on a file whose fields also failed, so that every
    problem shows at once (pydantic runs them only on valid fields)."""
    if data.get("runtime") != "vllm":
        return []
    points = data.get("points") if isinstance(data.get("points"), list) else []
    problems = [
        f"points[{index}].tpot: vLLM points need the TPOT vllm bench serve reports"
        for index, point in enumerate(points)
        if isinstance(point, dict) and point.get("tpot") is None
    ]
    if points and data.get("request") is None:
        problems.append("request: a vLLM sweep needs the request shape it sent (prompt_tokens, output_tokens)")
    return problems


def load_profile(path: Path) -> Profile:
    """Read a profile from JSON or YAML; every problem is reported at once, never a traceback."""
    source = str(path)
    try:
        if path.stat().st_size > MAX_PROFILE_BYTES:
            raise ProfileError(source, [f"(profile): larger than {MAX_PROFILE_BYTES:,} bytes"])
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProfileError(source, [f"(profile): cannot read it: {error.__class__.__name__}: {error}"]) from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        first = str(error).splitlines()[0] if str(error) else error.__class__.__name__
        raise ProfileError(source, [f"(profile): not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {first}"]) from None
    return parse_profile(data, source)


def load_profile_of(path: Path, models: list[ModelSpec], among: str) -> Profile:
    """The profile at `path`, checked against the model of `models` it names (`among` says
    which models those are, for the message); ProfileError otherwise."""
    profile = load_profile(path)
    measured = next((m for m in models if m.name == profile.model), None)
    if measured is None:
        raise ProfileError(str(path), [f"model: {profile.model!r} is not {among} ({', '.join(m.name for m in models)})"])
    check_matches(profile, measured, str(path))
    return profile


def check_matches(profile: Profile, model: ModelSpec, source: str) -> None:
    """A profile measured on another model, instance type or runtime must not be applied."""
    problems = []
    if profile.model != model.name:
        problems.append(f"model: measured on {profile.model!r}, applied to {model.name!r}")
    if profile.instance_type != model.instance_type:
        problems.append(f"instance_type: measured on {profile.instance_type}, the model runs on {model.instance_type}")
    if profile.runtime != model.runtime:
        problems.append(f"runtime: measured {profile.runtime}, the model runs {model.runtime}")
    if problems:
        raise ProfileError(source, problems)


def _fit_line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares intercept and slope, both kept non-negative (a step never gets faster
    with a larger batch)."""
    if len(xs) == 1:
        return ys[0], 0.0
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = max(0.0, sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread) if spread else 0.0
    intercept = mean_y - slope * mean_x
    if intercept <= 0:
        intercept, slope = min(ys), max(0.0, (max(ys) - min(ys)) / max(1.0, max(xs) - min(xs)))
    return intercept, slope


def calibrated_service(service: ServiceModel, profile: Profile) -> ServiceModel:
    """The service model with the measured step and prefill times (vLLM) or batch latency (Triton)."""
    if service.runtime == "triton":
        if profile.triton is None:
            return service
        return replace(service, triton=TritonProfile(profile.triton.base_ms, profile.triton.per_item_ms))
    if not profile.points or profile.request is None:
        return service
    shape = Workload(profile.request.prompt_tokens, profile.request.output_tokens)
    points = sorted(profile.points, key=lambda p: p.concurrency)
    tpots = [(p.tpot.p50_ms if p.tpot.p50_ms is not None else p.tpot.mean_ms) / 1000 for p in points if p.tpot]
    base, per_sequence = _fit_line([float(p.concurrency) for p in points], tpots)
    lowest = points[0]
    ttft = (lowest.ttft.p50_ms if lowest.ttft.p50_ms is not None else lowest.ttft.mean_ms) / 1000
    step_at_lowest = base + per_sequence * lowest.concurrency
    # At the lowest concurrency a prompt rarely waits for another: TTFT is its prefill and a step.
    prefill_per_token = max(1e-9, (ttft - step_at_lowest) / shape.prompt_tokens) if ttft > step_at_lowest else (
        service.prefill_s_per_token
    )
    return replace(
        service,
        measured_step=(base, per_sequence / shape.mean_context),
        prefill_s_per_token=prefill_per_token,
    )


def calibrated_timings(timings: platform.Timings, profile: Profile) -> platform.Timings:
    cold = profile.cold_start
    if cold is None:
        return timings
    changes: dict[str, float] = {}
    if cold.node_provision_s is not None:
        changes["node_provision_s"] = cold.node_provision_s
    if cold.image_pull_s is not None:
        changes["image_pull_s"] = cold.image_pull_s
    if cold.container_start_s is not None:
        loading = max(0.0, cold.container_start_s - timings.readiness_s)
        assumed = timings.weight_load_s + timings.engine_init_s
        share = timings.weight_load_s / assumed if assumed > 0 else 0.0
        changes["weight_load_s"] = loading * share
        changes["engine_init_s"] = loading * (1 - share)
    return replace(timings, **changes)
