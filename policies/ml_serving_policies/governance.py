"""Cost allocation tags on everything that costs money; stateful resources protected in prod."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyProviderResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .settings import config_schema, settings
from .values import get, is_map, items, mapping

# Resources that appear on the bill; free ones (route tables, IAM) are left alone.
COST_BEARING = (
    "aws:eks/cluster:Cluster",
    "aws:eks/nodeGroup:NodeGroup",
    "aws:ec2/instance:Instance",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/eip:Eip",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:ec2/volume:Volume",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:ecr/repository:Repository",
    "aws:kms/key:Key",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:efs/fileSystem:FileSystem",
    "aws:fsx/lustreFileSystem:LustreFileSystem",
    "aws:sagemaker/model:Model",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
    "aws:sagemaker/endpoint:Endpoint",
)
STATEFUL = (
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:ecr/repository:Repository",
    "aws:kms/key:Key",
    "aws:eks/cluster:Cluster",
    "aws:efs/fileSystem:FileSystem",
    "aws:fsx/lustreFileSystem:LustreFileSystem",
    "aws:dynamodb/table:Table",
    "aws:rds/instance:Instance",
    "aws:rds/cluster:Cluster",
)

TAGS_SCHEMA = {
    "requiredTags": {
        "type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1,
        "default": ["team", "cost-center"],
        "description": "Tag keys every cost-bearing resource carries, on itself or through provider default tags.",
    }
}


def provider_default_tags(provider: PolicyProviderResource | None) -> Mapping[str, Any]:
    """The aws provider's defaultTags.tags. Provider inputs reach policies as JSON text for
    structured values (that is how the engine passes provider config), or as objects."""
    if provider is None or not provider.resource_type.startswith("pulumi:providers:aws"):
        return {}
    value = get(provider.props, "defaultTags")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return mapping(get(value, "tags")) if is_map(value) else {}


LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


def _check_launched_instances(args: ResourceValidationArgs, required: list[str], report: ReportViolation) -> None:
    # Default tags reach the template itself, not what Auto Scaling launches from it.
    launched = {}
    for spec in items(get(args.props, "tagSpecifications")):
        if get(spec, "resourceType") == "instance":
            launched.update(mapping(get(spec, "tags")))
    missing = [key for key in required if not launched.get(key)]
    if missing:
        report(f"instances launched from this template miss cost tags {', '.join(missing)}: provider default "
               "tags do not reach instances an Auto Scaling group launches, so they need tagSpecifications.")


def _check_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == LAUNCH_TEMPLATE:
        _check_launched_instances(args, list(settings(args, TAGS_SCHEMA)["requiredTags"]), report)
        return
    if args.resource_type not in COST_BEARING:
        return
    required = list(settings(args, TAGS_SCHEMA)["requiredTags"])
    tags = {**provider_default_tags(args.provider), **mapping(get(args.props, "tags"))}
    missing = [key for key in required if not tags.get(key)]
    if missing:
        report(f"missing cost tags {', '.join(missing)} (neither on the resource nor in its provider's "
               "default tags), so its spend lands in the unallocated bucket.")


REQUIRED_COST_TAGS = ResourceValidationPolicy(
    name="required-cost-tags",
    display_name="Required cost tags",
    description=(
        "Cost-bearing AWS resources (clusters, node groups, NAT gateways, buckets, endpoints, ...) carry the "
        "required tags, directly or through the aws provider's default tags; launch templates also tag the "
        "instances they launch."
    ),
    validate=_check_tags,
    config_schema=config_schema(TAGS_SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.LOW,
    tags=["cost", "governance"],
    remediation_steps=(
        "Set `tags` (team, cost-center) in the stack file: __main__.py puts them in the aws provider's "
        "default_tags. Resources created with another provider need the tags passed explicitly."
    ),
)


def _check_protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in STATEFUL and not args.opts.protect:
        report("is not protected: `pulumi destroy` or a rename would delete it and the data in it.")


STATEFUL_PROTECTED = ResourceValidationPolicy(
    name="stateful-resources-protected",
    display_name="Stateful resources protected",
    description=(
        "Resources that hold data or identity (buckets, ECR repositories, KMS keys, the EKS cluster, file "
        "systems, databases) are created with protect=True. Enabled in prod."
    ),
    validate=_check_protected,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["reliability", "prod"],
    remediation_steps=(
        "Pass opts=pulumi.ResourceOptions(protect=True, retain_on_delete=True) for these resources in prod "
        "(components take protect=(environment == 'prod')). Unprotect deliberately with `pulumi state unprotect`."
    ),
)

POLICIES = [REQUIRED_COST_TAGS, STATEFUL_PROTECTED]
