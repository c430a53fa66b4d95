"""The HTTPRoutes in front of each model: request-weighted between its versions (or through the
KEDA interceptor for a model that scales to zero), mirroring to a shadow, and a second route
whose header and cookie matches send experiment traffic to its variants."""
from __future__ import annotations

from typing import Any

from components.compilers.endpoint_picker import pool_backend, uses_picker
from components.compilers.gateway import GATEWAY_API, GATEWAY_NAME
from components.compilers.helm_values import NAMESPACES
from components.compilers.keda import INTERCEPTOR_PORT, INTERCEPTOR_SERVICE, RESPONSE_TIMEOUT_S
from components.compilers.kserve import cold_start_budget_s
from components.compilers.rollout import ServedVersion
from components.compilers.serving import MODELS_NAMESPACE
from components.intent.experiment import VariantMatch, cookie_regex
from components.intent.model import ModelSpec

Manifest = dict[str, Any]

# The rollout plan rides along on the route, where the policy pack can check it.
CANARY_STEPS_ANNOTATION = "ml-serving/canary-steps"
# Envoy Gateway v1.9.0 resolves InferencePool backendRefs through its extension server, the
# Envoy AI Gateway controller, which takes one InferencePool per route rule: weights across
# two pools (GIE conformance GatewayWeightedAcrossTwoInferencePools) are an open proposal
# there (envoyproxy/ai-gateway#2657, 2026-09). Until it lands, a canary splitting requests
# between two versions splits them over the versions' Services.
WEIGHTED_POOLS_SUPPORTED = False
# A canary stepped and rolled back in the stack file (the policy pack wants Flagger in prod).
CANARY_ROLLBACK_ANNOTATION = "ml-serving/canary-rollback"


def model_host(model: ModelSpec, domain: str) -> str:
    return f"{model.name}.{domain}"


def request_timeout_s(model: ModelSpec) -> int:
    timeout = RESPONSE_TIMEOUT_S
    if model.autoscaling.scale_to_zero:
        # The first request after an idle spell waits out the cold start in the interceptor.
        timeout += cold_start_budget_s(model)
    return timeout


def version_backend(served: ServedVersion, weight: int) -> dict[str, Any]:
    """A backendRef to one version: the predictor Service KServe creates for it."""
    return {"group": "", "kind": "Service", "name": served.predictor, "port": 80, "weight": weight}


def http_route(model: ModelSpec, versions: list[ServedVersion], domain: str) -> Manifest:
    timeout = request_timeout_s(model)
    if model.autoscaling.scale_to_zero:
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
        # Standard-mode canary, which splits by replica count. Only stable and candidate
        # take unmarked requests.
        backends = version_backends([v for v in versions if v.role in ("stable", "candidate")])
    metadata: dict[str, Any] = {"name": model.name, "namespace": MODELS_NAMESPACE, "labels": {"ml-serving/model": model.name}}
    if model.canary is not None:
        metadata["annotations"] = {
            CANARY_STEPS_ANNOTATION: ",".join(str(step) for step in model.canary.steps),
            CANARY_ROLLBACK_ANNOTATION: "manual",
        }
    rule: dict[str, Any] = {"backendRefs": backends, "timeouts": {"request": f"{timeout}s"}}
    mirrors = mirror_filters(model, versions)
    if mirrors:
        rule["filters"] = mirrors
    persistence = session_persistence(model)
    if persistence is not None:
        rule["sessionPersistence"] = persistence
    return {
        "apiVersion": GATEWAY_API,
        "kind": "HTTPRoute",
        "metadata": metadata,
        "spec": {
            "parentRefs": [{"name": GATEWAY_NAME, "namespace": MODELS_NAMESPACE}],
            "hostnames": [model_host(model, domain)],
            "rules": [rule],
        },
    }


# --- Shadow traffic and A/B experiments ------------------------------------------------------


def mirror_filters(model: ModelSpec, versions: list[ServedVersion]) -> list[dict[str, Any]]:
    """RequestMirror to the shadow: the gateway copies the given share of requests and drops
    the shadow's answers (Envoy Gateway v1.9.0 honours `percent`: internal/gatewayapi/filters.go)."""
    if model.shadow is None:
        return []
    shadow = next(v for v in versions if v.role == "shadow")
    backend = {k: v for k, v in version_backend(shadow, 1).items() if k != "weight"}
    return [{"type": "RequestMirror", "requestMirror": {"backendRef": backend, "percent": model.shadow.mirror_percent}}]


def session_persistence(model: ModelSpec) -> dict[str, Any] | None:
    """Sticky assignment on the default route: a cookie pins a client to the version that
    first answered it, so a canary's weights move new clients only."""
    experiment = model.experiment
    if experiment is None or not experiment.sticky:
        return None
    return {
        "sessionName": f"ml-serving-{model.name}",
        "type": "Cookie",
        "absoluteTimeout": _duration(experiment.sticky_ttl_s),
        "cookieConfig": {"lifetimeType": "Permanent"},
    }


def _duration(seconds: int) -> str:
    # Gateway API durations allow at most five digits per unit.
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n) or "0s"


def _variant_match(match: VariantMatch) -> dict[str, Any]:
    if match.kind == "header":
        header = {"type": "Exact", "name": match.name, "value": match.value}
    else:
        # Gateway API matches headers, not cookies: the Cookie header holds name=value.
        header = {"type": "RegularExpression", "name": "Cookie", "value": cookie_regex(match)}
    return {"path": {"type": "PathPrefix", "value": "/"}, "headers": [header]}


def experiment_route(model: ModelSpec, versions: list[ServedVersion], domain: str) -> Manifest | None:
    """A second HTTPRoute on the model's hostname with one rule per variant. A rule with a
    header match outranks the default route's match-all rule across routes (Gateway API
    HTTPRoute precedence: largest number of header matches), so it coexists with the weighted
    canary route, ours or Flagger's, without touching it."""
    experiment = model.experiment
    if experiment is None:
        return None
    by_version = {v.version: v for v in versions}
    timeout = request_timeout_s(model)
    rules = [
        {
            "name": f"variant-{variant.name}",
            "matches": [_variant_match(variant.match)],
            "backendRefs": [_variant_backend(by_version[variant.version])],
            "timeouts": {"request": f"{timeout}s"},
        }
        for variant in experiment.variants
    ]
    return {
        "apiVersion": GATEWAY_API,
        "kind": "HTTPRoute",
        "metadata": {
            "name": f"{model.name}-experiment",
            "namespace": MODELS_NAMESPACE,
            "labels": {"ml-serving/model": model.name, "ml-serving/experiment": experiment.name},
        },
        "spec": {
            "parentRefs": [{"name": GATEWAY_NAME, "namespace": MODELS_NAMESPACE}],
            "hostnames": [model_host(model, domain)],
            "rules": rules,
        },
    }


def version_backends(versions: list[ServedVersion], weighted_pools: bool = WEIGHTED_POOLS_SUPPORTED) -> list[dict[str, Any]]:
    """Request-weighted backendRefs: each live version's InferencePool where its picker can
    take the requests, else each version's Service."""
    live = [v for v in versions if v.weight > 0]
    if live and all(uses_picker(v) for v in live) and (len(live) == 1 or weighted_pools):
        return [pool_backend(v) for v in live]
    return [version_backend(v, v.weight) for v in versions]


def _variant_backend(served: ServedVersion) -> dict[str, Any]:
    """A variant's rule sends all its requests to one version, so it may take that version's
    pool (one InferencePool per rule is what the AI Gateway supports)."""
    if uses_picker(served):
        return {**pool_backend(served), "weight": 100}
    return version_backend(served, 100)
