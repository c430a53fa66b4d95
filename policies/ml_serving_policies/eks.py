"""EKS: encrypted secrets, a fenced API endpoint, GPU node groups that are private, tainted,
bounded and left to the autoscaler."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .settings import config_schema, settings
from .values import get, is_list, items, mapping, number, present, shown, strings, tolerant

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
OPEN_CIDRS = ("0.0.0.0/0", "::/0")
GPU_FAMILY = re.compile(r"^(p|g|gr)\d")
GPU_TAINT = "nvidia.com/gpu"
DESIRED_SIZE = "scalingConfig.desiredSize"


def _first(value: Any) -> Mapping[str, Any]:
    """Single-item blocks arrive as objects in pulumi-aws 7 and as one-item lists in older schemas."""
    if is_list(value):
        return mapping(value[0]) if len(value) else {}
    return mapping(value)


def _check_secrets_encryption(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CLUSTER:
        return
    encryption = _first(get(args.props, "encryptionConfig"))
    if "secrets" not in strings(get(encryption, "resources")):
        report("encryptionConfig does not cover `secrets`: Kubernetes Secrets (Hugging Face tokens, Grafana "
               "credentials) are stored with AWS-owned keys only.")
    elif not present(encryption, "provider", "keyArn"):
        report("encryptionConfig.provider.keyArn is empty; name the stack's KMS key.")


EKS_SECRETS_ENCRYPTION = ResourceValidationPolicy(
    name="eks-secrets-encryption",
    display_name="EKS secrets encryption",
    description="EKS clusters envelope-encrypt Kubernetes secrets with a customer-managed KMS key.",
    validate=_check_secrets_encryption,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["eks", "security", "encryption"],
    remediation_steps=(
        "Set encryption_config={'provider': {'key_arn': key.arn}, 'resources': ['secrets']} on the cluster "
        "(components/cluster.py passes the stack's EncryptionKey). It cannot be removed once enabled."
    ),
)


def _check_endpoint(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CLUSTER:
        return
    vpc = _first(get(args.props, "vpcConfig"))
    # AWS defaults: public endpoint on and open to 0.0.0.0/0, private endpoint off.
    if get(vpc, "endpointPublicAccess", default=True) is not False:
        cidrs = strings(get(vpc, "publicAccessCidrs"))
        opened = [c for c in cidrs if c in OPEN_CIDRS] if cidrs else ["0.0.0.0/0 (the default)"]
        if opened:
            report(f"the public API endpoint is open to {', '.join(opened)}; list the CIDRs that need it in "
                   "publicAccessCidrs or turn the public endpoint off.")
    if get(vpc, "endpointPrivateAccess", default=False) is not True:
        report("endpointPrivateAccess is off, so nodes reach the API server over the internet.")


EKS_ENDPOINT = ResourceValidationPolicy(
    name="eks-endpoint-restricted",
    display_name="No unrestricted public EKS endpoint",
    description=(
        "The EKS API endpoint is private, or public only to listed CIDRs (never 0.0.0.0/0), and private "
        "access is on."
    ),
    validate=_check_endpoint,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    tags=["eks", "security", "network"],
    remediation_steps=(
        "Set cluster.public_access_cidrs in the stack file to the CI and VPN egress ranges, or to [] for a "
        "private-only endpoint; the cluster component always enables the private endpoint."
    ),
)


def _route_table_is_public(table: Any) -> bool:
    if any(d.resource_type == INTERNET_GATEWAY for d in table.dependencies):
        return True
    gateways = [tolerant(lambda r=r: get(r, "gatewayId"), None) for r in items(get(table.props, "routes"))]
    return any(isinstance(g, str) and g.startswith("igw-") for g in gateways)


def _public_subnets(resources: list[Any]) -> dict[str, str]:
    """URN -> why, for every subnet in the stack that routes to the internet directly."""
    public: dict[str, str] = {}
    tables = {r.urn for r in resources if r.resource_type == ROUTE_TABLE and tolerant(lambda r=r: _route_table_is_public(r), False)}
    for route in resources:
        if route.resource_type == ROUTE and any(d.resource_type == INTERNET_GATEWAY for d in route.dependencies):
            tables |= {d.urn for d in route.dependencies if d.resource_type == ROUTE_TABLE}
    for subnet in resources:
        if subnet.resource_type != SUBNET:
            continue
        if tolerant(lambda s=subnet: get(s.props, "mapPublicIpOnLaunch") is True, False):
            public[subnet.urn] = "maps public IPs on launch"
        elif tolerant(lambda s=subnet: "kubernetes.io/role/elb" in mapping(get(s.props, "tags")), False):
            public[subnet.urn] = "is tagged kubernetes.io/role/elb (internet-facing load balancers)"
    for association in resources:
        if association.resource_type != ROUTE_TABLE_ASSOCIATION:
            continue
        urns = {d.urn for d in association.dependencies}
        if urns & tables:
            for urn in urns:
                public.setdefault(urn, "routes 0.0.0.0/0 to an internet gateway")
    return public


def _subnets_of(node_group: Any) -> list[Any]:
    declared = node_group.property_dependencies.get("subnetIds") if node_group.property_dependencies else None
    return [d for d in (declared or node_group.dependencies) if d.resource_type == SUBNET]


def _validate_private_subnets(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    public = _public_subnets(resources)
    for group in resources:
        if group.resource_type != NODE_GROUP:
            continue
        for subnet in _subnets_of(group):
            if subnet.urn in public:
                report(f"node group {group.name} uses subnet {subnet.name}, which {public[subnet.urn]}.", group.urn)


NODE_GROUPS_PRIVATE = StackValidationPolicy(
    name="node-groups-in-private-subnets",
    display_name="Node groups in private subnets",
    description=(
        "EKS node groups launch only into private subnets: none that maps public IPs, carries the "
        "kubernetes.io/role/elb tag or routes to an internet gateway."
    ),
    validate=_validate_private_subnets,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["eks", "network", "security"],
    remediation_steps=(
        "Pass the network's private_subnet_ids to node groups; public subnets are for internet-facing load "
        "balancers only. Nodes reach ECR, S3 and STS through VPC endpoints and the NAT gateway."
    ),
)


def _is_gpu_group(props: Mapping[str, Any]) -> bool:
    ami = get(props, "amiType", default="")
    families = [t.split(".")[0] for t in strings(get(props, "instanceTypes"))]
    return "NVIDIA" in ami or "GPU" in ami or any(GPU_FAMILY.match(f) for f in families)


def _check_gpu_taint(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != NODE_GROUP or not _is_gpu_group(args.props):
        return
    tainted = any(
        get(t, "key") == GPU_TAINT and get(t, "effect") in ("NO_SCHEDULE", "NO_EXECUTE")
        for t in items(get(args.props, "taints"))
    )
    if not tainted:
        report(f"GPU node group without a {GPU_TAINT} NoSchedule taint: any pod can land on a GPU node and "
               "keep it (and its bill) alive.")


GPU_NODE_GROUPS_TAINTED = ResourceValidationPolicy(
    name="gpu-node-groups-tainted",
    display_name="GPU node groups tainted",
    description="GPU node groups (NVIDIA AMI or g/p instance families) carry the nvidia.com/gpu NoSchedule taint.",
    validate=_check_gpu_taint,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["eks", "gpu", "cost"],
    remediation_steps=(
        "Add taints=[{key: nvidia.com/gpu, value: 'true', effect: NO_SCHEDULE}] (components/node_group.py does "
        "this for gpu_pools) and tolerate it only in model pods, the device plugin and DCGM exporter."
    ),
)


GPU_BOUND_SCHEMA = {
    "maxGpuNodes": {
        "type": "integer", "minimum": 1, "default": 16,
        "description": "Largest maxSize a single GPU node group may have.",
    }
}


def _check_gpu_bound(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != NODE_GROUP or not _is_gpu_group(args.props):
        return
    ceiling = int(settings(args, GPU_BOUND_SCHEMA)["maxGpuNodes"])
    size = number(get(args.props, "scalingConfig", "maxSize"))
    if size is None:
        report(f"scalingConfig.maxSize is not set; cap GPU node groups at {ceiling}.")
    elif size > ceiling:
        report(f"scalingConfig.maxSize is {shown(size)} GPU nodes; the limit for this environment is {ceiling}.")


GPU_NODE_GROUPS_BOUNDED = ResourceValidationPolicy(
    name="gpu-node-groups-bounded",
    display_name="GPU node groups bounded",
    description="Every GPU node group's scalingConfig.maxSize is at most the environment's maxGpuNodes.",
    validate=_check_gpu_bound,
    config_schema=config_schema(GPU_BOUND_SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["eks", "gpu", "cost"],
    remediation_steps=(
        "Lower the pool's max_size in the stack file, or raise maxGpuNodes for the environment in "
        "policies/config.<env>.json once the GPU quota and budget allow it."
    ),
)


def _check_desired_size_ignored(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != NODE_GROUP:
        return
    scaling = get(args.props, "scalingConfig", default={})
    low, high = number(get(scaling, "minSize")), number(get(scaling, "maxSize"))
    if low is not None and high is not None and low == high:
        return
    ignored = list(args.opts.ignore_changes or [])
    if DESIRED_SIZE not in ignored and "scalingConfig" not in ignored:
        report("the Cluster Autoscaler owns scalingConfig.desiredSize, but it is not in ignore_changes: every "
               "deployment would reset the node count.")


AUTOSCALED_SIZES_IGNORED = ResourceValidationPolicy(
    name="autoscaled-sizes-ignored",
    display_name="Autoscaler-owned sizes ignored",
    description="Node groups that can scale (minSize < maxSize) list scalingConfig.desiredSize in ignore_changes.",
    validate=_check_desired_size_ignored,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["eks", "autoscaling", "reliability"],
    remediation_steps=(
        "Create the node group with opts=pulumi.ResourceOptions(ignore_changes=['scalingConfig.desiredSize'])."
    ),
)

POLICIES = [
    EKS_SECRETS_ENCRYPTION,
    EKS_ENDPOINT,
    NODE_GROUPS_PRIVATE,
    GPU_NODE_GROUPS_TAINTED,
    GPU_NODE_GROUPS_BOUNDED,
    AUTOSCALED_SIZES_IGNORED,
]
