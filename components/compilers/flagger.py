"""Automated canaries on EKS: what Flagger v1.44 needs to drive a model's rollout.

Flagger targets a Service (`targetRef.kind: Service`), never a Deployment, so KServe keeps
owning every Deployment. Per model with `automated_rollout`:

- `<model>` (target Service, ours): selects the pods of the version under test: the
  candidate while a canary is declared, else the stable version.
- `<model>-primary` (ours): selects the stable version's pods. Flagger keeps an existing
  primary and only rewrites it on promotion, so it starts from the stable version even when
  a canary is declared in the same change that creates the Canary.
- `<model>-canary` Service and the `<model>` HTTPRoute: Flagger's; it owns the live weights.
- One MetricTemplate per gate check, read by the Canary's analysis.

Who owns what is in docs/canary.md ("Who owns the live weight").
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from components.compilers.gateway import GATEWAY_NAME
from components.compilers.helm_values import MONITOR_LABELS, NAMESPACES, PROMETHEUS_URL, RELEASES
from components.compilers.kserve import HTTP_PORT
from components.compilers.monitoring import gate_measures
from components.compilers.rollout import ServedVersion
from components.compilers.serving import MODELS_NAMESPACE
from components.intent.canary import CanaryPolicy, Gate
from components.intent.model import ModelSpec

Manifest = dict[str, Any]

FLAGGER_API = "flagger.app/v1beta1"
PROVIDER = "gatewayapi:v1"
SERVICE_PORT = 80
# Flagger rolls back once this many checks failed; one, so a breach measured at one check
# sends the candidate's weight to 0 at the next (scheduler.go: the threshold is tested before
# the analysis of each interval).
FAILED_CHECKS_TO_ROLLBACK = 1
ISVC_LABEL = "serving.kserve.io/inferenceservice"


def _stable(versions: list[ServedVersion]) -> ServedVersion:
    return next(v for v in versions if v.role == "stable")


def _under_test(versions: list[ServedVersion]) -> ServedVersion:
    return next((v for v in versions if v.role == "candidate"), _stable(versions))


def _service(model: ModelSpec, name: str, served: ServedVersion) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": MODELS_NAMESPACE,
            "labels": {"ml-serving/model": model.name, "ml-serving/selects": served.version},
        },
        "spec": {
            "type": "ClusterIP",
            "selector": {ISVC_LABEL: served.name},
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": HTTP_PORT, "protocol": "TCP"}],
        },
    }


def target_service(model: ModelSpec, versions: list[ServedVersion]) -> Manifest:
    """The Service Flagger watches: a change of its spec (a new candidate) starts an analysis."""
    return _service(model, model.name, _under_test(versions))


def primary_service(model: ModelSpec, versions: list[ServedVersion]) -> Manifest:
    return _service(model, f"{model.name}-primary", _stable(versions))


def plan(model: ModelSpec) -> tuple[list[int], int, list[Gate]]:
    """Steps, step interval and gates of the analysis. Between rollouts the Canary keeps the
    default steps and the model's SLO as gates, so any other change of the version under test
    (a stable version edited in place) is analysed as well, never switched blind."""
    if model.canary is not None:
        return list(model.canary.steps), model.canary.step_interval_s, list(model.canary.gates)
    defaults = CanaryPolicy.model_fields
    slo = model.slo
    gates = [Gate(metric="error_rate", max_value=slo.error_rate)]
    if model.runtime == "vllm" and slo.ttft_p99_ms is not None:
        gates.append(Gate(metric="ttft_p99", max_value=slo.ttft_p99_ms))
    elif slo.latency_p99_ms is not None:
        gates.append(Gate(metric="latency_p99", max_value=slo.latency_p99_ms))
    return list(defaults["steps"].default), defaults["step_interval_s"].default, gates


def gate_values(model: ModelSpec, versions: list[ServedVersion]) -> list[tuple[str, str, float]]:
    """(check name, PromQL of the measured value, ceiling) for every gate: the candidate's
    value against the absolute ceiling, and its ratio to the stable version against
    max_ratio_to_stable. A value query returns nothing when its series are absent."""
    stable = _stable(versions).name
    candidate = _under_test(versions).name
    return [
        (f"{_check_key(gate)}{suffix}", _number(value), ceiling)
        for gate in plan(model)[2]
        for suffix, value, ceiling in gate_measures(gate, model, candidate, stable)
    ]


def _number(query: str) -> str:
    # A share of no requests (0/0) is NaN, a present series Flagger also reads as "no values":
    # drop it so it counts as absent (NaN > -Inf is false; +Inf, a real breach, stays).
    return f"({query}) > -Inf"


def gate_checks(model: ModelSpec, versions: list[ServedVersion]) -> list[tuple[str, str, float]]:
    """The MetricTemplate queries: a breach is a value above the ceiling.

    Flagger counts a query with no value as a failed check ("no values found",
    providers/prometheus.go ErrNoValuesFound) and would roll back on missing data. Absent data
    must hold instead, so an absent value reads as 0 here (passing), and the presence hook
    (presence_query) stops every advance and the promotion while any value is absent."""
    return [(key, f"({value}) or on() vector(0)", ceiling) for key, value, ceiling in gate_values(model, versions)]


def presence_query(model: ModelSpec, versions: list[ServedVersion]) -> str:
    """A query Prometheus answers with an error (HTTP 422) while the candidate takes requests
    and any gate value is absent, and with an empty result otherwise.

    Flagger's confirm-traffic-increase and confirm-promotion hooks POST to a URL and halt,
    without counting a failed check, on any status above 202 (controller/webhook.go). Pointed at
    Prometheus' query API with this query, they hold the step while data is missing. The error
    is a deliberate many-to-one match against two series with the same (empty) match labels.
    At weight 0 nothing can be measured yet, so the first step is never held."""
    missing = " or ".join(f"absent({value})" for _, value, _ in gate_values(model, versions))
    exposed = f'flagger_canary_weight{{namespace="{MODELS_NAMESPACE}",workload="{model.name}"}} > 0'
    held = f"(({missing}) and on() ({exposed}))"
    return f'vector(1) + on() group_left() ({held} or label_replace({held}, "held", "1", "", ""))'


def presence_hook_url(model: ModelSpec, versions: list[ServedVersion]) -> str:
    return f"{PROMETHEUS_URL}/api/v1/query?{urlencode({'query': presence_query(model, versions)})}"


def _check_key(gate: Gate) -> str:
    return gate.metric.replace("_", "-")


def metric_templates(model: ModelSpec, versions: list[ServedVersion]) -> list[Manifest]:
    return [
        {
            "apiVersion": FLAGGER_API,
            "kind": "MetricTemplate",
            "metadata": {"name": f"{model.name}-{key}", "namespace": MODELS_NAMESPACE, "labels": {"ml-serving/model": model.name}},
            "spec": {"provider": {"type": "prometheus", "address": PROMETHEUS_URL}, "query": query},
        }
        for key, query, _ in gate_checks(model, versions)
    ]


def _window(model: ModelSpec, key: str) -> str:
    gate = next(g for g in plan(model)[2] if key.startswith(_check_key(g)))
    return f"{gate.window_s}s"


def canary(model: ModelSpec, versions: list[ServedVersion], host: str, timeout_s: int) -> Manifest:
    """The Canary: steps, one evaluation per step interval, roll back on the first failed check."""
    steps, interval, _ = plan(model)
    analysis: dict[str, Any] = {
        "interval": f"{interval}s",
        "threshold": FAILED_CHECKS_TO_ROLLBACK,
        "stepWeights": list(steps),
        "metrics": [
            {
                "name": key,
                "templateRef": {"name": f"{model.name}-{key}", "namespace": MODELS_NAMESPACE},
                "thresholdRange": {"max": ceiling},
                "interval": _window(model, key),
            }
            for key, _, ceiling in gate_checks(model, versions)
        ],
    }
    url = presence_hook_url(model, versions)
    analysis["webhooks"] = [
        {"name": "gates-have-data", "type": "confirm-traffic-increase", "url": url, "timeout": "10s", "muteAlert": True},
        {"name": "gates-have-data-to-promote", "type": "confirm-promotion", "url": url, "timeout": "10s", "muteAlert": True},
    ]
    experiment = model.experiment
    if experiment is not None and experiment.sticky:
        analysis["sessionAffinity"] = {
            "cookieName": f"ml-serving-{model.name}-canary",
            "primaryCookieName": f"ml-serving-{model.name}-stable",
            "maxAge": experiment.sticky_ttl_s,
        }
    return {
        "apiVersion": FLAGGER_API,
        "kind": "Canary",
        "metadata": {"name": model.name, "namespace": MODELS_NAMESPACE, "labels": {"ml-serving/model": model.name}},
        "spec": {
            "provider": PROVIDER,
            "targetRef": {"apiVersion": "v1", "kind": "Service", "name": model.name},
            "service": {
                "port": SERVICE_PORT,
                "targetPort": HTTP_PORT,
                "hosts": [host],
                "gatewayRefs": [{"name": GATEWAY_NAME, "namespace": MODELS_NAMESPACE}],
                "timeout": f"{timeout_s}s",
            },
            # Deleting the Canary (automation turned off) hands the route back as it was.
            "revertOnDeletion": True,
            "analysis": analysis,
        },
    }


# --- Flagger itself: namespaced RBAC and its alerts ------------------------------------------

SERVICE_ACCOUNT = RELEASES["flagger"]


def _role(name: str, namespace: str, rules: list[dict[str, Any]]) -> list[Manifest]:
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": name, "namespace": namespace},
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": name, "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACES["flagger"]}],
        },
    ]


def rbac() -> list[Manifest]:
    """What Flagger's Service target and Gateway API router touch, in the models namespace
    only, plus its leader-election lease in its own namespace."""
    read = ["get", "list", "watch"]
    write = [*read, "create", "update", "patch"]
    models = [
        # Finalizers: revertOnDeletion puts one on the Canary, and the -canary Service and the
        # HTTPRoute it creates carry owner references that block the Canary's deletion.
        {"apiGroups": ["flagger.app"], "resources": ["canaries", "canaries/status", "canaries/finalizers"],
         "verbs": [*read, "update", "patch"]},
        {"apiGroups": ["flagger.app"], "resources": ["metrictemplates", "alertproviders"], "verbs": read},
        # -primary and -canary Services (created, then kept in step with the target).
        {"apiGroups": [""], "resources": ["services"], "verbs": write},
        {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["httproutes"], "verbs": write},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    ]
    lease = [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": [*write, "delete"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    ]
    return [*_role("flagger", MODELS_NAMESPACE, models), *_role("flagger-leader-election", NAMESPACES["flagger"], lease)]


def flagger_alerts() -> Manifest:
    """A rollout's outcome and the actor's health, from Flagger's own metrics (pkg/metrics)."""
    ns = MODELS_NAMESPACE
    job = f'namespace="{NAMESPACES["flagger"]}",job="{RELEASES["flagger"]}"'
    # The candidate's weight: Flagger labels it with the target's name, the primary's with -primary.
    weight = f'flagger_canary_weight{{namespace="{ns}",workload!~".+-primary"}}'

    def alert(name: str, expr: str, duration: str, severity: str, summary: str) -> dict[str, Any]:
        return {"alert": name, "expr": expr, "for": duration, "labels": {"severity": severity}, "annotations": {"summary": summary}}

    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "flagger-rollouts", "namespace": NAMESPACES["flagger"], "labels": MONITOR_LABELS},
        "spec": {
            "groups": [
                {
                    "name": "flagger-rollouts",
                    "rules": [
                        alert(
                            "MLServingRolloutRolledBack",
                            f'flagger_canary_status{{namespace="{ns}"}} == 2',
                            "0m",
                            "critical",
                            "{{ $labels.name }}: Flagger rolled the candidate back (weight 0); see "
                            "kubectl -n " + ns + " describe canary {{ $labels.name }}",
                        ),
                        alert(
                            "MLServingRolloutActorDown",
                            f"absent(up{{{job}}} == 1)",
                            "5m",
                            "critical",
                            "Flagger is not running: automated canaries neither advance nor roll back "
                            "(weights stay where they are)",
                        ),
                        alert(
                            "MLServingRolloutStalled",
                            f"({weight} > 0 < 100) and changes({weight}[2h]) == 0",
                            "0m",
                            "warning",
                            "{{ $labels.workload }}: a rollout has held its step for two hours (the gateway "
                            "rejects its route, or Flagger cannot update it)",
                        ),
                    ],
                }
            ]
        },
    }
