"""KEDA objects: a ScaledObject per served version, and for models that scale to zero the
HTTP add-on's InterceptorRoute and the ReferenceGrant that lets routes reach its interceptor."""
from __future__ import annotations

from typing import Any

from components.compilers import metrics
from components.compilers.helm_values import NAMESPACES, PROMETHEUS_URL
from components.compilers.kserve import cold_start_budget_s
from components.compilers.rollout import ServedVersion
from components.compilers.serving import MODELS_NAMESPACE
from components.intent.model import ModelSpec

Manifest = dict[str, Any]

# Service names the keda-add-ons-http chart derives from its chart name (chart 0.15.0).
INTERCEPTOR_SERVICE = "keda-add-ons-http-interceptor-proxy"
INTERCEPTOR_PORT = 8080
EXTERNAL_SCALER = f"keda-add-ons-http-external-scaler.{NAMESPACES['keda-http-add-on']}:9090"
POLLING_INTERVAL_S = 15
# LLM responses stream for minutes; proxies must not cut them.
RESPONSE_TIMEOUT_S = 600
REQUEST_TIMEOUT = f"{RESPONSE_TIMEOUT_S}s"
# Trigger names the combined signal's formula reads (expr identifiers).
WAITING_TRIGGER = "waiting"
RUNNING_TRIGGER = "running"
FLOOR_TRIGGER = "floor"


def interceptor_reference_grant(from_namespace: str) -> Manifest:
    """HTTPRoutes in the models namespace may target the interceptor in the keda namespace."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": f"{from_namespace}-routes-to-interceptor", "namespace": NAMESPACES["keda-http-add-on"]},
        "spec": {
            "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": from_namespace}],
            "to": [{"group": "", "kind": "Service", "name": INTERCEPTOR_SERVICE}],
        },
    }


def scaled_object(served: ServedVersion, query: str, wake_route: str | None) -> Manifest:
    """KEDA scales one version's predictor Deployment on its own load signal.

    With `wake_route`, the HTTP add-on's interceptor also reports requests it is holding, so
    a version at zero replicas (which exports no metrics at all) wakes on the first request.
    """
    policy = served.model.autoscaling
    if wake_route is not None:
        # At zero replicas there is no series to read: that alone is no failure.
        query = (
            f'({query}) or on() (sum(kube_deployment_spec_replicas{{namespace="{MODELS_NAMESPACE}",'
            f'deployment="{served.predictor}"}}) == 0)'
        )
    triggers: list[dict[str, Any]]
    modifiers: dict[str, str] | None = None
    if policy.combined is None:
        triggers = [_prometheus(query, policy.target)]
    else:
        combined = policy.combined
        sel = metrics.selector(MODELS_NAMESPACE, served.name)
        triggers = [
            {"name": WAITING_TRIGGER, **_prometheus(metrics.load(served.model.runtime, "queue_depth", sel), combined.queue_per_replica)},
            {"name": RUNNING_TRIGGER, **_prometheus(metrics.running(served.model.runtime, sel), combined.running_per_replica)},
        ]
        # The formula sees each trigger's raw query value; its result, against a target of
        # 1 per replica (AverageValue), is the replicas' worth of load.
        modifiers = {
            "formula": f"{WAITING_TRIGGER} / {combined.queue_per_replica:g} + {RUNNING_TRIGGER} / {combined.running_per_replica:g}",
            "target": "1",
            "metricType": "AverageValue",
        }
    floors = floor_triggers(served)
    triggers += floors
    if modifiers is not None and floors:
        # Every trigger goes through the formula once it exists: the floors join it as a
        # maximum, which is what the HPA does with separate metrics.
        names = [f["name"] for f in floors]
        bound = names[0]
        for name in names[1:]:
            bound = f"max({bound}, {name})"
        modifiers["formula"] = f"max({modifiers['formula']}, {bound})"
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": served.predictor},
        "pollingInterval": POLLING_INTERVAL_S,
        "minReplicaCount": served.min_replicas,
        "maxReplicaCount": served.max_replicas,
        # If Prometheus is unreachable, hold what is running rather than dropping to a guess.
        "fallback": {"failureThreshold": 3, "replicas": served.min_replicas, "behavior": "currentReplicasIfHigher"},
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "behavior": {
                    "scaleUp": {
                        "stabilizationWindowSeconds": policy.scale_up_window_s,
                        "selectPolicy": "Max",
                        "policies": [
                            {"type": "Percent", "value": 100, "periodSeconds": 15},
                            {"type": "Pods", "value": 4, "periodSeconds": 15},
                        ],
                    },
                    "scaleDown": {
                        "stabilizationWindowSeconds": policy.scale_down_window_s,
                        "selectPolicy": "Min",
                        # One replica at a time: a GPU replica is minutes away from coming back.
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                    },
                }
            }
        },
        "triggers": triggers,
    }
    if modifiers is not None:
        spec["advanced"]["scalingModifiers"] = modifiers
    if wake_route is not None:
        spec["idleReplicaCount"] = 0
        spec["cooldownPeriod"] = policy.idle_timeout_s
        triggers.append(
            {"type": "external-push", "metadata": {"scalerAddress": EXTERNAL_SCALER, "interceptorRoute": wake_route}}
        )
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": served.name, "namespace": MODELS_NAMESPACE, "labels": {"ml-serving/model": served.model.name}},
        "spec": spec,
    }


def _prometheus(query: str, threshold: float) -> dict[str, Any]:
    return {
        "type": "prometheus",
        # AverageValue: desired replicas = ceil(query / threshold), the per-replica target.
        "metricType": "AverageValue",
        "metadata": {
            "serverAddress": PROMETHEUS_URL,
            "query": query,
            "threshold": f"{threshold:g}",
            # An empty result (scrape broken, metric renamed) is an error, so `fallback`
            # engages; "true" would read it as zero load and park the model at its floor.
            "ignoreNullValues": "false",
        },
    }


def cron(clock: str, weekdays: tuple[int, ...] | None = None) -> str:
    """An HH:MM time as a five-field cron expression (KEDA's cron format, robfig/cron: day of
    week 0 Sunday ... 6 Saturday), every day or on `weekdays` (Monday 0, as the intent counts)."""
    hours, mins = clock.split(":")
    if weekdays is None or len(weekdays) == 7:
        return f"{int(mins)} {int(hours)} * * *"
    return f"{int(mins)} {int(hours)} * * {','.join(str(d) for d in sorted((d + 1) % 7 for d in weekdays))}"


def floor_triggers(served: ServedVersion) -> list[dict[str, Any]]:
    """KEDA cron triggers for the stable version's scheduled floors: inside its window a
    trigger reports desiredReplicas against a target of 1 (so the HPA wants that many),
    outside it 1, which min_replicas already covers. Candidates, variants and shadows keep
    their own bounds."""
    schedule = served.model.autoscaling.schedule
    if schedule is None or served.role != "stable":
        return []
    triggers = []
    for index, window in enumerate(schedule.windows):
        replicas = min(window.min_replicas, served.max_replicas)
        if replicas <= served.min_replicas:
            continue
        triggers.append(
            {
                "type": "cron",
                "name": f"{FLOOR_TRIGGER}_{index}",
                "metadata": {
                    "timezone": schedule.timezone,
                    # Every day is all seven: cron writes `*` for them.
                    "start": cron(window.start, window.weekdays()),
                    "end": cron(window.end, window.end_weekdays()),
                    "desiredReplicas": str(replicas),
                },
            }
        )
    return triggers


def replica_concurrency(model: ModelSpec) -> int:
    """Requests one replica serves at once: vLLM's batch, Triton's batch times its instances."""
    if model.vllm is not None:
        return model.vllm.max_num_seqs
    assert model.triton is not None
    # Instance-group counts are per GPU.
    instances = (sum(group.count for group in model.triton.instance_groups) or 1) * model.gpus
    return max(1, model.triton.max_batch_size) * instances


def interceptor_route(served: ServedVersion, host: str) -> Manifest:
    """Route the model's host through the interceptor, which queues requests while the
    version scales up from zero (http.keda.sh/v1beta1, add-on 0.15)."""
    cold = cold_start_budget_s(served.model)
    return {
        "apiVersion": "http.keda.sh/v1beta1",
        "kind": "InterceptorRoute",
        "metadata": {"name": served.name, "namespace": MODELS_NAMESPACE, "labels": {"ml-serving/model": served.model.name}},
        "spec": {
            "target": {"service": served.predictor, "port": 80},
            "rules": [{"hosts": [host]}],
            # The interceptor's metric is one more trigger of the ScaledObject (external-push),
            # so it scales as well as wakes. At a replica's full concurrency it only asks for a
            # replica once every slot is taken, which the model's own signal has already seen:
            # the policy's signal and target stay the ones that scale.
            "scalingMetric": {"concurrency": {"targetValue": replica_concurrency(served.model)}},
            # A version at zero waits for a GPU node, the image and its start-up: hold the first
            # requests that long, then give them the usual time to answer.
            "timeouts": {
                "readiness": f"{cold}s",
                "request": f"{cold + RESPONSE_TIMEOUT_S}s",
                "responseHeader": f"{cold + RESPONSE_TIMEOUT_S}s",
            },
        },
    }
