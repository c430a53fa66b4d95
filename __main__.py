"""ml-serving: read the stack spec, deploy it to its target, export what operators need."""
import pulumi
import pulumi_aws as aws

from components.cluster import STORAGE_CLASS, Cluster, ClusterArgs
from components.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.compilers.node_bootstrap import caches_s3_weights, node_cache_dir
from components.compilers.review import stack_review
from components.compilers.rollout import pool_of, surge_allowed
from components.compilers.serving import MODEL_SERVICE_ACCOUNT, MODELS_NAMESPACE
from components.compilers.sources import model_prefixes
from components.efa import EfaDevicePlugin, EfaDevicePluginArgs
from components.encryption import EncryptionKey, EncryptionKeyArgs
from components.gateway import ModelGateway, ModelGatewayArgs
from components.images import ServingImages, ServingImagesArgs
from components.intent.stack import StackSpec
from components.keda import Keda, KedaArgs
from components.kserve import KServe, KServeArgs
from components.leader_worker_set import LeaderWorkerSetController, LeaderWorkerSetControllerArgs
from components.model_deployment import ModelDeployment, ModelDeploymentArgs
from components.model_dns import ModelDns, ModelDnsArgs
from components.model_namespace import ModelNamespace, ModelNamespaceArgs
from components.model_storage import ModelStorage, ModelStorageArgs, PodReader
from components.network import Network, NetworkArgs
from components.nvidia import NvidiaGpu, NvidiaGpuArgs
from components.observability import Observability, ObservabilityArgs
from components.planning.cost import stack_cost
from components.rollout_actor import RolloutActor, RolloutActorArgs
from components.sagemaker_endpoint import SageMakerEndpoint, SageMakerEndpointArgs
from components.serving_runtimes import ServingRuntimes, ServingRuntimesArgs
from components.stack_config import load_stack_spec
from components.stack_review import StackReview, StackReviewArgs
from components.triton_config import TritonConfigObject, TritonConfigObjectArgs


def stack_tags(spec: StackSpec) -> dict[str, str]:
    """Tags on every AWS resource of the stack (cost allocation, and the environment the CI
    deploy roles are scoped by)."""
    return {**spec.tags, "ml-serving:environment": spec.environment, "ml-serving:stack": pulumi.get_stack()}


def name_prefix() -> str:
    """Names of a stack's resources start with its stack name: two stacks of one environment
    (dev and sagemaker-dev, say) can share an account without their names colliding."""
    return f"ml-serving-{pulumi.get_stack()}"


def serving_images(
    spec: StackSpec, prefix: str, key: EncryptionKey, protect: bool, on_aws: pulumi.ResourceOptions
) -> ServingImages:
    """Digest-pinned images of the runtimes this stack serves (built, or prebuilt)."""
    return ServingImages(
        f"{prefix}-images",
        ServingImagesArgs(
            images=spec.images,
            runtimes=sorted({m.runtime for m in spec.models}),
            repository_prefix=prefix,
            key_arn=key.arn,
            protect=protect,
        ),
        on_aws,
    )


def triton_configs(
    spec: StackSpec, prefix: str, storage: ModelStorage, key: EncryptionKey, on_aws: pulumi.ResourceOptions
) -> dict[str, list[pulumi.Resource]]:
    """Each Triton model's config.pbtxt in its model repositories, before the model starts."""
    return {
        model.name: [
            TritonConfigObject(
                f"{prefix}-triton-{model.name}",
                TritonConfigObjectArgs(model=model, bucket=storage.bucket.bucket, key_arn=key.arn),
                on_aws,
            )
        ]
        for model in spec.models
        if model.runtime == "triton"
    }


def deploy_eks(spec: StackSpec, aws_provider: aws.Provider) -> dict:
    assert spec.cluster is not None
    cluster_spec = spec.cluster
    versions = cluster_spec.addon_versions
    prefix = name_prefix()
    protect = spec.protects_stateful
    on_aws = pulumi.ResourceOptions(providers=[aws_provider])

    key = EncryptionKey(prefix, EncryptionKeyArgs(f"ml-serving {spec.environment}: secrets, volumes, models, logs", protect), on_aws)
    network = Network(prefix, NetworkArgs(spec.network, cluster_name=prefix), on_aws)
    cluster = Cluster(
        prefix,
        ClusterArgs(
            cluster_name=prefix,
            spec=cluster_spec,
            private_subnet_ids=network.private_subnet_ids,
            key_arn=key.arn,
            region=spec.region,
            protect=protect,
            tags=stack_tags(spec),
            vpc_id=network.vpc_id,
        ),
        on_aws,
    )
    storage = ModelStorage(
        f"{prefix}-models",
        ModelStorageArgs(
            bucket_name=spec.storage.bucket,
            key_arn=key.arn,
            protect=protect,
            reader=PodReader(cluster.name, MODELS_NAMESPACE, MODEL_SERVICE_ACCOUNT, model_prefixes(spec.models)),
        ),
        on_aws,
    )

    in_cluster = pulumi.ResourceOptions(providers=[aws_provider, cluster.provider])
    ready = cluster.ready
    monitoring = Observability(
        f"{prefix}-observability",
        ObservabilityArgs(
            cluster_spec.observability,
            versions.kube_prometheus_stack,
            STORAGE_CLASS,
            after=ready,
            alerting=spec.alerting,
            cluster_name=cluster.name,
        ),
        in_cluster,
    )
    NvidiaGpu(
        f"{prefix}-nvidia",
        NvidiaGpuArgs(versions.nvidia_device_plugin, versions.dcgm_exporter, monitoring=monitoring.release, after=ready),
        in_cluster,
    )
    if any(pool.efa for pool in cluster_spec.gpu_pools):
        EfaDevicePlugin(f"{prefix}-efa", EfaDevicePluginArgs(after=ready), in_cluster)
    ClusterAutoscaler(
        f"{prefix}-cluster-autoscaler",
        ClusterAutoscalerArgs(
            cluster_name=prefix,
            cluster=cluster.name,
            region=spec.region,
            kubernetes_version=cluster_spec.kubernetes_version,
            chart_version=versions.cluster_autoscaler,
            after=ready,
        ),
        in_cluster,
    )
    namespace = ModelNamespace(f"{prefix}-model-namespace", ModelNamespaceArgs(after=ready), in_cluster)
    gateway = ModelGateway(
        f"{prefix}-gateway",
        ModelGatewayArgs(
            versions.envoy_gateway,
            MODELS_NAMESPACE,
            cluster_spec.model_domain,
            after=[*ready, namespace],
            inference_pools=any(m.routing.balancer == "endpoint_picker" for m in spec.models),
        ),
        in_cluster,
    )
    dns = ModelDns(
        f"{prefix}-model-dns",
        ModelDnsArgs(
            domain=cluster_spec.model_domain,
            vpc_id=network.vpc_id,
            region=spec.region,
            cluster_name=prefix,
            cluster=cluster.name,
            chart_version=versions.external_dns,
            after=[*ready, gateway.gateway],
        ),
        in_cluster,
    )
    scales_to_zero = any(m.autoscaling.scale_to_zero for m in spec.models)
    keda = Keda(
        f"{prefix}-keda",
        KedaArgs(
            keda_version=versions.keda,
            http_add_on_version=versions.keda_http_add_on if scales_to_zero else None,
            interceptor_min_replicas=spec.interceptor_min_replicas,
            routes_namespace=MODELS_NAMESPACE,
            monitoring=monitoring.release,
            after=[*ready, gateway.release],
        ),
        in_cluster,
    )
    kserve = KServe(
        f"{prefix}-kserve",
        KServeArgs(versions.kserve, versions.cert_manager, keda=keda.release, monitoring=monitoring.release, after=ready),
        in_cluster,
    )
    multinode = [
        LeaderWorkerSetController(f"{prefix}-lws", LeaderWorkerSetControllerArgs(after=ready), in_cluster)
    ] if any(m.nodes_per_replica() > 1 for m in spec.models) else []
    images = serving_images(spec, prefix, key, protect, on_aws)
    configs = triton_configs(spec, prefix, storage, key, on_aws)
    runtimes = ServingRuntimes(
        f"{prefix}-runtimes",
        ServingRuntimesArgs(
            images={m.runtime: images.refs[m.runtime] for m in spec.models},
            kserve=kserve.controller,
            monitoring=monitoring.release,
            after=[namespace],
        ),
        in_cluster,
    )
    rollout_actor = None
    if any(m.automated_rollout for m in spec.models):
        rollout_actor = RolloutActor(
            f"{prefix}-rollout-actor",
            RolloutActorArgs(versions.flagger, MODELS_NAMESPACE, after=[monitoring.release, gateway.release, namespace]),
            in_cluster,
        ).release
    for model in spec.models:
        pool = pool_of(model, cluster_spec.gpu_pools)
        ModelDeployment(
            f"{prefix}-model-{model.name}",
            ModelDeploymentArgs(
                model=model,
                pool_name=pool.name,
                surge=surge_allowed(model, pool, spec.models),
                region=spec.region,
                domain=cluster_spec.model_domain,
                image=images.refs[model.runtime],
                after=[runtimes, keda, gateway, namespace, *multinode, *configs.get(model.name, [])],
                rollout_actor=rollout_actor if model.automated_rollout else None,
                team=spec.tags.get("team"),
                node_cache=node_cache_dir(pool),
                cache_s3_weights=caches_s3_weights(pool),
            ),
            in_cluster,
        )
    return {
        "clusterName": cluster.name,
        "vpcId": network.vpc_id,
        "modelBucket": storage.bucket.bucket,
        "modelZoneId": dns.zone.zone_id,
        "modelUrls": {m.name: f"http://{m.name}.{cluster_spec.model_domain}" for m in spec.models},
    }


def deploy_sagemaker(spec: StackSpec, aws_provider: aws.Provider) -> dict:
    prefix = name_prefix()
    protect = spec.protects_stateful
    on_aws = pulumi.ResourceOptions(providers=[aws_provider])
    settings = spec.sagemaker_settings

    key = EncryptionKey(prefix, EncryptionKeyArgs(f"ml-serving {spec.environment}: models, captured data, logs", protect), on_aws)
    network = Network(prefix, NetworkArgs(spec.network), on_aws)
    storage = ModelStorage(
        f"{prefix}-models",
        ModelStorageArgs(bucket_name=spec.storage.bucket, key_arn=key.arn, protect=protect),
        on_aws,
    )
    images = serving_images(spec, prefix, key, protect, on_aws)
    configs = triton_configs(spec, prefix, storage, key, on_aws)
    endpoints = {}
    for model in spec.models:
        endpoint = SageMakerEndpoint(
            f"{prefix}-endpoint-{model.name}",
            SageMakerEndpointArgs(
                model=model,
                settings=settings,
                prefix=prefix,
                region=spec.region,
                image_source=getattr(spec.images, model.runtime),
                vpc_id=network.vpc_id,
                subnet_ids=network.private_subnet_ids,
                bucket_name=spec.storage.bucket,
                bucket_arn=storage.bucket.arn,
                key_arn=key.arn,
                image_refs=images.refs,
                after=configs.get(model.name, []),
                alarm_topics=spec.alerting.sns_topics_for(
                    {"severity": "critical", "model": model.name, "team": spec.tags.get("team", "")}
                ),
            ),
            on_aws,
        )
        endpoints[model.name] = endpoint.endpoint_name
    return {"vpcId": network.vpc_id, "modelBucket": storage.bucket.bucket, "endpoints": endpoints}


spec = load_stack_spec()
provider = aws.Provider(
    "aws",
    region=spec.region,
    default_tags=aws.ProviderDefaultTagsArgs(tags=stack_tags(spec)),
)
outputs = deploy_eks(spec, provider) if spec.target == "eks" else deploy_sagemaker(spec, provider)
StackReview(
    f"{name_prefix()}-review",
    StackReviewArgs(
        facts=stack_review(spec, stack_cost(spec)),
        account_id=aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=provider)).account_id,
    ),
)
for key, value in outputs.items():
    pulumi.export(key, value)
