"""The HTTPRoute in front of each model: request-weighted between its versions, or through the
KEDA interceptor for a model that scales to zero."""
from __future__ import annotations

from typing import Any

from components.compilers.gateway import GATEWAY_API, GATEWAY_NAME
from components.compilers.helm_values import NAMESPACES
from components.compilers.keda import INTERCEPTOR_PORT, INTERCEPTOR_SERVICE, RESPONSE_TIMEOUT_S
from components.compilers.kserve import cold_start_budget_s
from components.compilers.rollout import ServedVersion
from components.compilers.serving import MODELS_NAMESPACE
from components.intent.model import ModelSpec

Manifest = dict[str, Any]

# The rollout plan rides along on the route, where the policy pack can check it.
CANARY_STEPS_ANNOTATION = "ml-serving/canary-steps"


def model_host(model: ModelSpec, domain: str) -> str:
    return f"{model.name}.{domain}"


def http_route(model: ModelSpec, versions: list[ServedVersion], domain: str) -> Manifest:
    timeout = RESPONSE_TIMEOUT_S
    if model.autoscaling.scale_to_zero:
        # The first request after an idle spell waits out the cold start in the interceptor.
        timeout += cold_start_budget_s(model)
        # The interceptor routes on the Host header to the version's Service.
        backends = [
            {
                "group": "",
                "kind": "Service",
                "name": INTERCEPTOR_SERVICE,
                "namespace": NAMESPACES["keda-http-add-on"],
                "port": INTERCEPTOR_PORT,
                "weight": 100,
            }
        ]
    else:
        # Gateway API weights are per request (weight / sum of weights), unlike KServe's
        # Standard-mode canary, which splits by replica count.
        backends = [
            {"group": "", "kind": "Service", "name": v.predictor, "port": 80, "weight": v.weight} for v in versions
        ]
    metadata: dict[str, Any] = {"name": model.name, "namespace": MODELS_NAMESPACE, "labels": {"ml-serving/model": model.name}}
    if model.canary is not None:
        metadata["annotations"] = {CANARY_STEPS_ANNOTATION: ",".join(str(step) for step in model.canary.steps)}
    return {
        "apiVersion": GATEWAY_API,
        "kind": "HTTPRoute",
        "metadata": metadata,
        "spec": {
            "parentRefs": [{"name": GATEWAY_NAME, "namespace": MODELS_NAMESPACE}],
            "hostnames": [model_host(model, domain)],
            "rules": [{"backendRefs": backends, "timeouts": {"request": f"{timeout}s"}}],
        },
    }
