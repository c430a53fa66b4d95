"""ModelDeployment: one model on EKS. Each served version (stable, and a candidate during a
canary) is an InferenceService with its own KEDA ScaledObject and disruption budget; one
HTTPRoute splits requests between versions; a PrometheusRule carries the SLO alerts and
canary gates; optional warm-pool placeholders keep GPU capacity ready."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components import kube
from components.compilers import flagger, metrics
from components.compilers.disruption import disruption_budget
from components.compilers.keda import interceptor_route, scaled_object
from components.compilers.kserve import inference_service
from components.compilers.monitoring import prometheus_rule
from components.compilers.rollout import served_versions
from components.compilers.routing import experiment_route, http_route, model_host, request_timeout_s
from components.compilers.serving import MODELS_NAMESPACE
from components.compilers.warm_pool import warm_pool
from components.intent.model import ModelSpec


@dataclass(frozen=True)
class ModelDeploymentArgs:
    model: ModelSpec
    pool_name: str
    surge: bool
    region: str
    domain: str
    # The runtime's image, pre-pulled by warm-pool placeholders.
    image: pulumi.Input[str]
    # Runtimes, KEDA, the gateway and the namespace this deployment needs in place.
    after: list[pulumi.Resource] = field(default_factory=list)
    # Flagger's release (its CRDs), for a model with automated_rollout.
    rollout_actor: pulumi.Resource | None = None
    # The `team` label its alerts carry, for routing (the stack's team tag).
    team: str | None = None
    # The pool's node cache directory (compile_cache node), mounted instead of an emptyDir.
    node_cache: str | None = None


class ModelDeployment(pulumi.ComponentResource):
    def __init__(self, name: str, args: ModelDeploymentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:model_deployment:ModelDeployment", name, None, opts)
        model = args.model
        host = model_host(model, args.domain)
        versions = served_versions(model)

        def apply(manifest: dict, depends_on: list[pulumi.Resource] | None = None) -> pulumi.CustomResource:
            return kube.apply(
                f"{name}-{kube.object_key(manifest)}",
                manifest,
                pulumi.ResourceOptions(parent=self, depends_on=[*args.after, *(depends_on or [])]),
            )

        services = []
        for served in versions:
            isvc = apply(inference_service(served, args.pool_name, args.region, args.surge, args.node_cache))
            services.append(isvc)
            wake_route = None
            if model.autoscaling.scale_to_zero:
                route = interceptor_route(served, host)
                apply(route, [isvc])
                wake_route = route["metadata"]["name"]
            query = metrics.load(model.runtime, model.autoscaling.signal, metrics.selector(MODELS_NAMESPACE, served.name))
            apply(scaled_object(served, query, wake_route), [isvc])
            apply(disruption_budget(served), [isvc])
        if model.automated_rollout:
            self._automated_rollout(apply, args, versions, host, services)
        else:
            apply(http_route(model, versions, args.domain), services)
        experiment = experiment_route(model, versions, args.domain)
        if experiment is not None:
            apply(experiment, services)
        apply(prometheus_rule(model, versions, args.team))
        placeholders = warm_pool(model, args.pool_name, args.image)
        if placeholders is not None:
            apply(placeholders)
        self.register_outputs({"host": host, "versions": [v.name for v in versions]})

    @staticmethod
    def _automated_rollout(apply, args: ModelDeploymentArgs, versions, host: str, services: list) -> None:
        """Flagger's inputs: it owns the model's HTTPRoute and its weights, so ours is not rendered."""
        model = args.model
        if args.rollout_actor is None:
            raise ValueError(f"model {model.name} has automated_rollout but no rollout actor was installed")
        actor = [args.rollout_actor]
        # The primary first: Flagger keeps an existing one, so its baseline is the stable version.
        primary = apply(flagger.primary_service(model, versions), [*services, *actor])
        templates = [apply(t, actor) for t in flagger.metric_templates(model, versions)]
        # The Canary's new steps, checks and hooks before the target that starts the analysis,
        # so Flagger never analyses a new candidate with the previous (or an idle) plan.
        canary = apply(flagger.canary(model, versions, host, request_timeout_s(model)), [primary, *templates])
        apply(flagger.target_service(model, versions), [*services, canary])
