"""RoutingPolicy: how the gateway picks a replica for each request of a model.

`round_robin` sends requests to the version's Service (kube-proxy spreads connections).
`endpoint_picker` puts each version behind a Gateway API Inference Extension InferencePool
whose endpoint picker (EPP) scores the replicas per request on queue length, KV-cache use
and prefix-cache hits, and keeps a LoRA adapter's requests on replicas that have it loaded.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.intent.base import Spec

# The inferencepool chart names the picker `<release name, cut to 40 characters>-epp`.
PICKER_NAME_LIMIT = 40


class RoutingPolicy(Spec):
    """Replica choice for a vLLM model's requests (Triton models always use their Service)."""

    balancer: Literal["round_robin", "endpoint_picker"] = Field(
        "round_robin",
        description="`endpoint_picker`: score replicas by queue, KV cache and prefix-cache hits (vLLM on EKS); "
        "`round_robin`: the version's Service.",
    )
    failure_mode: Literal["fail_open", "fail_closed"] = Field(
        "fail_open",
        description="What the gateway does when the picker does not answer: `fail_open` sends the request to a "
        "replica of the pool anyway (plain balancing, worse time to first token); `fail_closed` refuses it (503).",
    )
