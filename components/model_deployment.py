"""ModelDeployment: one model on EKS. Each served version (stable, and a candidate during a
canary) is an InferenceService with its own KEDA ScaledObject and disruption budget; one
HTTPRoute splits requests between versions; a PrometheusRule carries the SLO alerts and
canary gates; optional warm-pool placeholders keep GPU capacity ready."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components import helm, kube
from components.compilers import flagger, metrics
from components.compilers.disruption import disruption_budget
from components.compilers.endpoint_picker import picker_values, pool_name, uses_picker
from components.compilers.keda import interceptor_route, scaled_object
from components.compilers.kserve import inference_service
from components.compilers.leader_worker_set import (
    group_disruption_budget,
    is_multinode,
    leader_service,
    leader_worker_set,
    scale_groups,
)
from components.compilers.monitoring import prometheus_rule
from components.compilers.rollout import served_versions
from components.compilers.routing import experiment_route, http_route, model_host, request_timeout_s
from components.compilers.serving import MODELS_NAMESPACE
from components.compilers.warm_pool import warm_pool
from components.intent import versions as pins
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
    # Keep vLLM replicas' S3 weights in that cache for the next replica on the node (NVMe only).
    cache_s3_weights: bool = False


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
        pickers: list[pulumi.Resource] = []
        for served in versions:
            if is_multinode(served):
                # A replica across nodes: a LeaderWorkerSet group per replica, its leaders
                # behind the version's Service, scaled by whole groups.
                group = apply(leader_worker_set(served, args.pool_name, args.region, args.image))
                services += [group, apply(leader_service(served), [group])]
                query = metrics.load(model.runtime, model.autoscaling.signal, metrics.selector(MODELS_NAMESPACE, served.name))
                apply(scale_groups(scaled_object(served, query, None), served), [group])
                apply(group_disruption_budget(served), [group])
                continue
            isvc = apply(
                inference_service(
                    served, args.pool_name, args.region, args.surge, args.image, args.node_cache, args.cache_s3_weights
                )
            )
            services.append(isvc)
            wake_route = None
            if model.autoscaling.scale_to_zero:
                route = interceptor_route(served, host)
                apply(route, [isvc])
                wake_route = route["metadata"]["name"]
            query = metrics.load(model.runtime, model.autoscaling.signal, metrics.selector(MODELS_NAMESPACE, served.name))
            apply(scaled_object(served, query, wake_route), [isvc])
            apply(disruption_budget(served), [isvc])
            if uses_picker(served):
                # Every version keeps its pool, also while a canary's route splits over the
                # Services, so the route can move onto a pool without waiting for its picker.
                pickers.append(
                    helm.install_release(
                        f"{name}-{served.version}-picker",
                        "inferencepool",
                        pool_name(served),
                        MODELS_NAMESPACE,
                        pins.CHARTS["inferencepool"].version,
                        picker_values(served),
                        pulumi.ResourceOptions(parent=self, depends_on=[*args.after, isvc]),
                    )
                )
        backends = [*services, *pickers]
        if model.automated_rollout:
            self._automated_rollout(apply, args, versions, host, backends)
        else:
            apply(http_route(model, versions, args.domain), backends)
        experiment = experiment_route(model, versions, args.domain)
        if experiment is not None:
            apply(experiment, backends)
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
