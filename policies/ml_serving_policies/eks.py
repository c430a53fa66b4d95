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

from .addresses import BadCidr, parse, public_addresses, shown_count
from .settings import config_schema, settings
from .values import get, is_list, items, mapping, number, present, shown, strings, tolerant

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
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


ENDPOINT_SCHEMA = {
    "maxPublicAddresses": {
        "type": "integer", "minimum": 0, "default": 1024,
        "description": (
            "Most publicly routable addresses the public API endpoint may admit, counted over the union of "
            "publicAccessCidrs with private and reserved blocks subtracted (1024 = four /24s)."
        ),
    }
}


def _check_endpoint(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CLUSTER:
        return
    vpc = _first(get(args.props, "vpcConfig"))
    limit = int(settings(args, ENDPOINT_SCHEMA)["maxPublicAddresses"])
    # AWS defaults: public endpoint on and open to 0.0.0.0/0, private endpoint off.
    if get(vpc, "endpointPublicAccess", default=True) is not False:
        cidrs = strings(get(vpc, "publicAccessCidrs")) or ["0.0.0.0/0"]
        try:
            count = public_addresses(parse(cidrs))
        except BadCidr as error:
            report(f"publicAccessCidrs: {error}.")
            return
        if count > limit:
            default = " (the AWS default when none are listed)" if not strings(get(vpc, "publicAccessCidrs")) else ""
            report(
                f"the public API endpoint admits {shown_count(count)} publicly routable addresses through "
                f"{', '.join(cidrs)}{default}; at most {limit:,} here. List only the CI and VPN egress ranges in "
                "cluster.public_access_cidrs (however the ranges are split, the addresses are counted), or [] "
                "for a private-only endpoint."
            )
    if get(vpc, "endpointPrivateAccess", default=False) is not True:
        report("endpointPrivateAccess is off, so nodes reach the API server over the internet.")


EKS_ENDPOINT = ResourceValidationPolicy(
    name="eks-endpoint-restricted",
    display_name="No broadly public EKS endpoint",
    description=(
        "Judgement with a threshold (policy, not validation: how many addresses are acceptable depends on the "
        "environment): the EKS API endpoint is private, or public to at most maxPublicAddresses publicly "
        "routable addresses, counted from the ranges themselves (union of publicAccessCidrs minus private and "
        "reserved blocks), so 0.0.0.0/1 + 128.0.0.0/1 or sixteen /4s count as the whole internet. Private "
        "access is on. Validation rejects only /0 outright."
    ),
    validate=_check_endpoint,
    config_schema=config_schema(ENDPOINT_SCHEMA),
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


LOGS_SCHEMA = {
    "requiredLogTypes": {
        "type": "array", "items": {"enum": ["api", "audit", "authenticator", "controllerManager", "scheduler"]},
        "minItems": 1, "default": ["audit"],
        "description": "Control-plane log types the cluster must send to CloudWatch.",
    }
}


def _check_control_plane_logs(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CLUSTER:
        return
    required = list(settings(args, LOGS_SCHEMA)["requiredLogTypes"])
    enabled = strings(get(args.props, "enabledClusterLogTypes"))
    missing = [t for t in required if t not in enabled]
    if missing:
        report(f"control-plane logs {', '.join(missing)} are off (enabled: {', '.join(enabled) or 'none'}): who "
               f"changed what in the cluster is not recorded. Add them to cluster.log_types in the stack file.")


EKS_CONTROL_PLANE_LOGS = ResourceValidationPolicy(
    name="eks-control-plane-audit-logs",
    display_name="EKS control-plane audit logs on",
    description=(
        "Judgement (policy; which log types are worth their CloudWatch bill differs per environment): the "
        "cluster sends the environment's requiredLogTypes (audit at least) to CloudWatch."
    ),
    validate=_check_control_plane_logs,
    config_schema=config_schema(LOGS_SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["eks", "security", "audit"],
    remediation_steps="Set cluster.log_types to include audit (the default is [api, audit, authenticator]).",
)

ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ACCESS_ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
ADMIN_POLICY_SUFFIX = ":cluster-access-policy/AmazonEKSClusterAdminPolicy"
ACCESS_SCHEMA = {
    "minClusterAdmins": {
        "type": "integer", "minimum": 0, "default": 1,
        "description": "Cluster-admin access entries the stack manages besides the deployer's (break-glass roles).",
    }
}


def _validate_access(args: StackValidationArgs, report: ReportViolation) -> None:
    config = settings(args, ACCESS_SCHEMA)
    clusters = [r for r in args.resources if r.resource_type == CLUSTER]
    admins = [r for r in args.resources if r.resource_type == ACCESS_ASSOCIATION
              and str(get(r.props, "policyArn", default="")).endswith(ADMIN_POLICY_SUFFIX)]
    for cluster in clusters:
        creator = get(cluster.props, "accessConfig", "bootstrapClusterCreatorAdminPermissions", default=True)
        managed = len(admins)
        if creator is not False:
            report("the cluster makes whoever creates it an admin, outside the stack (no deployer role): set "
                   "cluster.deployer_role_arn to the role `pulumi up` runs as, so its access is a managed entry.",
                   cluster.urn)
        else:
            managed -= 1  # one admin entry is the deployer's
        needed = int(config["minClusterAdmins"])
        if managed < needed:
            report(f"{max(managed, 0)} cluster-admin role(s) besides the deployer; at least {needed} here, so operators "
                   "can reach the cluster when CI cannot. Add them to cluster.admin_role_arns.", cluster.urn)


EKS_ACCESS = StackValidationPolicy(
    name="eks-admin-and-deployer-access",
    display_name="EKS admin and deployer access managed",
    description=(
        "Judgement (policy: a throwaway dev cluster may do without break-glass admins): the deployer's access "
        "is a managed access entry (the cluster creator gets no implicit admin) and at least minClusterAdmins "
        "further roles are cluster admins."
    ),
    validate=_validate_access,
    config_schema=config_schema(ACCESS_SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["eks", "security", "access"],
    remediation_steps="Set cluster.deployer_role_arn (CI's deploy role) and cluster.admin_role_arns (operators).",
)


def _check_spot(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != NODE_GROUP or not _is_gpu_group(args.props):
        return
    if get(args.props, "capacityType") == "SPOT":
        report("GPU node group on Spot: EC2 reclaims a node with two minutes' notice, less than a model's "
               "start-up, so online requests on it fail or queue. Use capacity_type: on_demand for online "
               "serving, Spot only where interruptions are acceptable (dev, batch).")


GPU_SPOT_ONLINE = ResourceValidationPolicy(
    name="gpu-spot-for-online-serving",
    display_name="Spot GPUs for online serving",
    description=(
        "Advisory in every environment (a trade-off, not a defect): GPU node groups serving online traffic "
        "on Spot capacity can lose a replica with two minutes' notice."
    ),
    validate=_check_spot,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    tags=["eks", "gpu", "reliability"],
    remediation_steps="Set the pool's capacity_type to on_demand, or keep enough on-demand replicas to ride out a reclaim.",
)

POLICIES = [
    EKS_SECRETS_ENCRYPTION,
    EKS_ENDPOINT,
    NODE_GROUPS_PRIVATE,
    GPU_NODE_GROUPS_TAINTED,
    GPU_NODE_GROUPS_BOUNDED,
    AUTOSCALED_SIZES_IGNORED,
    EKS_CONTROL_PLANE_LOGS,
    EKS_ACCESS,
    GPU_SPOT_ONLINE,
]
