"""SageMakerEndpoint: one model as a SageMaker real-time endpoint, with blue/green rollouts
that roll back on CloudWatch alarms, and Application Auto Scaling."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.compilers import sagemaker as sm
from components.intent.images import AwsImage, ImageSource
from components.intent.instances import sagemaker_instance
from components.intent.model import ModelSpec
from components.intent.stack import SageMakerSpec


@dataclass(frozen=True)
class SageMakerEndpointArgs:
    model: ModelSpec
    settings: SageMakerSpec
    prefix: str  # f"ml-serving-{environment}": the endpoint is f"{prefix}-{model.name}"
    region: str
    image_source: ImageSource  # images.<runtime> of the stack
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]  # private subnets
    bucket_name: str
    bucket_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    # ServingImages.refs (issue 5): runtime -> digest-pinned ECR reference, for `build` sources.
    image_refs: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # What must exist before the model can start, e.g. Triton's config.pbtxt in the model prefix.
    after: Sequence[pulumi.Resource] = ()
    # SNS topics the stack routes this model's critical alerts to; its alarms notify them.
    alarm_topics: Sequence[str] = ()


def resolve_aws_image(image: AwsImage, region: str, instance_type: str) -> str:
    """The URI of an AWS-published SageMaker image, from the SageMaker SDK's bundled tables
    (offline). AWS publishes these by tag, so they cannot be pinned by digest here."""
    # Importing the SDK takes seconds; only stacks that use AWS images pay for it.
    from sagemaker.core import image_uris

    try:
        return image_uris.retrieve(
            image.framework,
            region=region,
            version=image.version,
            instance_type=sagemaker_instance(instance_type),
            image_scope="inference",
        )
    except ValueError as error:
        raise pulumi.RunError(
            f"images.*.sagemaker_image: no {image.framework} image {image.version or '(newest)'} for "
            f"{region} in the SageMaker SDK's tables: {error}"
        ) from None


class SageMakerEndpoint(pulumi.ComponentResource):
    endpoint_name: pulumi.Output[str]

    def __init__(self, name: str, args: SageMakerEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:sagemaker_endpoint:SageMakerEndpoint", name, None, opts)
        model = args.model
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOptions(parent=self)
        partition = aws.get_partition(opts=invoke).partition
        account_id = aws.get_caller_identity(opts=invoke).account_id
        endpoint = sm.endpoint_name(args.prefix, model)
        kind = sm.image_kind(args.image_source)
        image = self._image(args)

        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=sm.log_group_name(endpoint),
            retention_in_days=args.settings.log_retention_days,
            kms_key_id=args.key_arn,
            opts=child,
        )
        # No ingress: requests reach the container through SageMaker, not the VPC.
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"SageMaker endpoint {endpoint}: no ingress, HTTPS out",
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="tcp", from_port=443, to_port=443, cidr_blocks=["0.0.0.0/0"],
                    description="HTTPS to S3, ECR and CloudWatch through the VPC endpoints and NAT",
                )
            ],
            tags={"Name": endpoint},
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            description=f"SageMaker endpoint {endpoint}: its weights, image, logs and VPC attachment only",
            assume_role_policy=json.dumps(sm.execution_trust(account_id)),
            opts=child,
        )
        subnets = pulumi.Output.all(*args.subnet_ids)
        role_policy = aws.iam.RolePolicy(
            f"{name}-role",
            role=role.name,
            policy=pulumi.Output.all(
                bucket_arn=args.bucket_arn, key_arn=args.key_arn, image=image, subnet_ids=subnets,
                security_group_id=security_group.id,
            ).apply(
                lambda v: json.dumps(
                    sm.execution_policy(
                        model, args.settings, partition=partition, region=args.region, account_id=account_id,
                        endpoint=endpoint, **v,
                    )
                )
            ),
            opts=child,
        )

        model_request = pulumi.Output.all(
            image=image, role_arn=role.arn, subnet_ids=subnets, security_group_id=security_group.id
        ).apply(
            lambda v: sm.pulumi_model_args(
                sm.model_request(
                    model, endpoint=endpoint, kind=kind, image=v["image"], role_arn=v["role_arn"],
                    subnet_ids=v["subnet_ids"], security_group_ids=[v["security_group_id"]],
                )
            )
        )
        sagemaker_model = aws.sagemaker.Model(
            f"{name}-model",
            **_fields(model_request, "name", "execution_role_arn", "enable_network_isolation", "vpc_config",
                      "primary_container", "tags"),
            # The instances start with this role's permissions, and Triton needs its config.pbtxt.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, logs, *args.after]),
        )
        alarm_requests = sm.alarm_requests(model, endpoint, list(args.alarm_topics))
        alarms = [
            aws.cloudwatch.MetricAlarm(
                f"{name}-alarm-{request['AlarmName'].removeprefix(endpoint + '-')}",
                **sm.pulumi_alarm_args(request),
                opts=child,
            )
            for request in alarm_requests
        ]
        deployment = sm.deployment_config(model, args.settings, [request["AlarmName"] for request in alarm_requests])
        config_request = pulumi.Output.all(model_name=sagemaker_model.name, key_arn=args.key_arn).apply(
            lambda v: sm.pulumi_endpoint_config_args(
                sm.endpoint_config_request(
                    model, args.settings, endpoint=endpoint, bucket=args.bucket_name, deployment=deployment, **v
                )
            )
        )
        config_fields = ["name", "production_variants", "tags"]
        if args.settings.data_capture_percent:
            config_fields.append("data_capture_config")
        if sm.volume_key_allowed(model.instance_type):
            config_fields.append("kms_key_arn")
        config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config", **_fields(config_request, *config_fields), opts=child
        )

        endpoint_args = config.name.apply(
            lambda config_name: sm.pulumi_endpoint_args(
                sm.endpoint_request(model, endpoint=endpoint, config_name=config_name, deployment=deployment)
            )
        )
        # The instance count Application Auto Scaling sets lives on the endpoint at runtime,
        # not in these inputs, so nothing here needs ignore_changes.
        sagemaker_endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            **_fields(endpoint_args, "name", "endpoint_config_name", "deployment_config", "tags"),
            # Rollback alarms must exist before an update names them.
            opts=pulumi.ResourceOptions(parent=self, depends_on=alarms),
        )

        scaling = sm.scaling_requests(model, endpoint)
        if scaling is not None:
            target_request, policy_request = scaling
            actions = sm.scheduled_action_requests(model, endpoint)
            target = aws.appautoscaling.Target(
                f"{name}-scaling",
                **sm.pulumi_target_args(target_request),
                # The variant must exist before it can be registered. With scheduled floors the
                # scheduled actions own MinCapacity: an update inside a window must not drop the
                # floor (a new min_replicas reaches the target at the next window's end).
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[sagemaker_endpoint],
                    ignore_changes=["minCapacity"] if actions else None,
                ),
            )
            aws.appautoscaling.Policy(
                f"{name}-scaling",
                **sm.pulumi_policy_args(policy_request),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[target]),
            )
            for action in actions:
                edge = action["ScheduledActionName"].removeprefix(f"{endpoint}-")
                action_args = sm.pulumi_scheduled_action_args(action)
                target_action = action_args.pop("scalable_target_action")
                aws.appautoscaling.ScheduledAction(
                    f"{name}-{edge}",
                    **action_args,
                    scalable_target_action=aws.appautoscaling.ScheduledActionScalableTargetActionArgs(**target_action),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[target]),
                )

        self.endpoint_name = sagemaker_endpoint.name
        self.register_outputs(
            {
                "endpointName": sagemaker_endpoint.name,
                "endpointConfigName": config.name,
                "modelName": sagemaker_model.name,
                "roleArn": role.arn,
            }
        )

    @staticmethod
    def _image(args: SageMakerEndpointArgs) -> pulumi.Input[str]:
        source = args.image_source
        runtime = args.model.runtime
        if source.sagemaker_image is not None:
            return resolve_aws_image(source.sagemaker_image, args.region, args.model.instance_type)
        if source.prebuilt is not None:
            return source.prebuilt
        if runtime not in args.image_refs:
            raise pulumi.RunError(
                f"images.{runtime}.build: no built {runtime} image was handed to the SageMaker endpoint of "
                f"{args.model.name}; the ECR build (components/images.py, ServingImages) provides it"
            )
        return args.image_refs[runtime]


def _fields(request: pulumi.Output[dict[str, Any]], *names: str) -> dict[str, pulumi.Output[Any]]:
    """Resource arguments from a compiled request that is only known once outputs resolve."""
    return {n: request.apply(lambda r, n=n: r[n]) for n in names}
