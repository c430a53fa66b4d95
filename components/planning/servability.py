"""Requests that no number of replicas serves within the SLO.

A request that misses an objective alone on an idle replica, with its whole shared prefix
already cached, misses it under any autoscaling: its prompt is too long to prefill within the
TTFT objective, or its output too long for the end-to-end one, or the model decodes slower
than the TPOT objective at batch 1. When such requests are more than the attainment target
leaves (1 % for p99 objectives), no policy and no max_replicas reaches it: the SLO, the
instance type or the request mix must change. This is what the oracle's "infeasible" then
means, and what the planner says instead of "raise max_replicas".

The figures are the simulator's own (vllm_server.py): a lone request's first token comes
after its prefill (at the chunk stretch of a batch of one) and one decode step; each later
token after one decode step at batch one. A prompt of max_model_len tokens or more is refused
by vLLM and fails whatever the fleet. Triton requests are answered in batches whose
latency the profile gives; they are not judged here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from components.intent.slo import Slo
from components.planning.traces import Trace

if TYPE_CHECKING:
    from components.planning.compare import ModelSetup


@dataclass(frozen=True)
class Unservable:
    """What a trace asks that no replica count can serve within the SLO."""

    requests: float
    # Requests missing each objective even alone ("ttft", "tpot", "latency"); one request
    # may miss several.
    missed: dict[str, float]
    missed_any: float
    # Prompts of at least max_model_len tokens: vLLM refuses them, and the replay counts them as
    # failed (not in `missed`).
    refused: float
    # The longest prompt (tokens to compute, after any cached prefix) whose lone TTFT meets
    # the objective; None without a TTFT objective.
    ttft_prompt_limit: int | None
    # The longest output whose lone end-to-end latency meets the objective after a prompt of
    # the trace's mean length; None without a latency objective.
    latency_output_limit: int | None = None

    @property
    def share(self) -> float:
        """Requests no replica count serves within the SLO: refused, or too slow alone."""
        return (self.missed_any + self.refused) / self.requests if self.requests else 0.0

    def blocks(self, target: float) -> bool:
        """More requests miss alone than the target allows: no schedule can reach it."""
        return self.share > 1.0 - target + 1e-12

    def reason(self, slo: Slo) -> str:
        """Which objectives the lone requests miss, for a user deciding what to change."""
        parts = []
        if self.missed.get("ttft"):
            limit = f" (prompts above {self.ttft_prompt_limit:,} tokens)" if self.ttft_prompt_limit is not None else ""
            parts.append(f"TTFT ≤ {slo.ttft_p99_ms} ms{limit}: {self.missed['ttft'] / self.requests:.1%}")
        if self.missed.get("tpot"):
            parts.append(f"TPOT ≤ {slo.tpot_p99_ms} ms (a decode step at batch 1 is slower): "
                         f"{self.missed['tpot'] / self.requests:.1%}")
        if self.missed.get("latency"):
            limit = (f" (outputs above {self.latency_output_limit:,} tokens after a prompt of the mean length)"
                     if self.latency_output_limit is not None else "")
            parts.append(f"latency ≤ {slo.latency_p99_ms} ms{limit}: {self.missed['latency'] / self.requests:.1%}")
        if self.refused:
            parts.append(f"prompts of max_model_len tokens or more, which vLLM refuses: {self.refused / self.requests:.1%}")
        return "; ".join(parts)


def unservable(setup: ModelSetup, trace: Trace) -> Unservable | None:
    """The trace's requests that miss the SLO alone on an idle replica; None for Triton."""
    model, service, slo = setup.model, setup.service, setup.model.slo
    if model.vllm is None or service.runtime != "vllm":
        return None
    max_model_len = model.vllm.max_model_len
    weight = trace.weight
    refusals = trace.refused(max_model_len)
    refused = sum(refusals) * weight
    served = trace.clipped(max_model_len)
    context = setup.workload.mean_context
    step = service.step_s(1, context)
    stretch = service.prefill_stretch(1, context)
    ttft_s = slo.ttft_p99_ms / 1000 if slo.ttft_p99_ms is not None else None
    tpot_s = slo.tpot_p99_ms / 1000 if slo.tpot_p99_ms is not None else None
    latency_s = slo.latency_p99_ms / 1000 if slo.latency_p99_ms is not None else None
    missed = {"ttft": 0.0, "tpot": 0.0, "latency": 0.0}
    missed_any = 0.0
    decode_too_slow = tpot_s is not None and step > tpot_s
    cached = served.cached if served.cached is not None else (0,) * len(served.prompts)
    for was_refused, prompt, output, hit in zip(refusals, served.prompts, served.outputs, cached):
        if was_refused:
            continue  # counted above
        first = service.prefill_s(prompt - hit) * stretch + step
        late_first = ttft_s is not None and first > ttft_s
        slow_decode = decode_too_slow and output > 1
        late_end = latency_s is not None and first + (output - 1) * step > latency_s
        if late_first:
            missed["ttft"] += weight
        if slow_decode:
            missed["tpot"] += weight
        if late_end:
            missed["latency"] += weight
        if late_first or slow_decode or late_end:
            missed_any += weight
    limit = None
    if ttft_s is not None and service.prefill_s_per_token > 0:
        room = (ttft_s - step) / (service.prefill_s_per_token * stretch)
        limit = max(0, math.floor(room))
    output_limit = None
    if latency_s is not None and step > 0:
        first = service.prefill_s(setup.workload.prompt_tokens) * stretch + step
        output_limit = max(0, math.floor((latency_s - first) / step) + 1)
    return Unservable(len(served.prompts) * weight, missed, missed_any, refused, limit, output_limit)
