"""Inputs whose change makes the provider replace the resource, for every resource type the
program creates.

pulumi-aws is bridged from the Terraform AWS provider: an attribute marked `ForceNew` there is
a replacement here. Entries were taken from terraform-provider-aws's resource schemas
(internal/service/<service>/*.go; eks/node_group.go read at commit 012e0a32 for the node
group) and the pulumi-aws API docs, which mark them "Changing this forces a new resource".
pulumi-kubernetes replaces an object whose name or namespace changes, and one whose change
the API server refuses as immutable (a Deployment's selector, a StorageClass's parameters,
a Secret's type). A type missing from the table is compared as "changed" only: the diff
names what it does not know instead of guessing (`unknown_types`).
"""
from __future__ import annotations

from collections.abc import Iterable

_TAGGED_NAME = ("name", "namePrefix")

AWS: dict[str, tuple[str, ...]] = {
    "aws:appautoscaling/policy:Policy": ("name", "resourceId", "scalableDimension", "serviceNamespace"),
    "aws:appautoscaling/target:Target": ("resourceId", "scalableDimension", "serviceNamespace"),
    "aws:autoscaling/tag:Tag": ("autoscalingGroupName", "tag"),
    "aws:cloudwatch/logGroup:LogGroup": (*_TAGGED_NAME,),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name",),
    "aws:ec2/eip:Eip": ("domain", "networkBorderGroup", "publicIpv4Pool", "address"),
    "aws:ec2/internetGateway:InternetGateway": (),
    "aws:ec2/launchTemplate:LaunchTemplate": (*_TAGGED_NAME,),
    "aws:ec2/natGateway:NatGateway": ("allocationId", "subnetId", "connectivityType", "privateIp"),
    # ec2/placement_group.go: every argument but tags is ForceNew.
    "aws:ec2/placementGroup:PlacementGroup": (*_TAGGED_NAME, "strategy", "partitionCount", "spreadLevel"),
    "aws:ec2/routeTable:RouteTable": ("vpcId",),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("subnetId", "gatewayId"),
    "aws:ec2/securityGroup:SecurityGroup": (*_TAGGED_NAME, "vpcId", "description"),
    "aws:ec2/subnet:Subnet": ("vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId", "outpostArn"),
    "aws:ec2/vpc:Vpc": ("cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("vpcId", "serviceName", "vpcEndpointType"),
    # vpc/security_group_ingress_rule.go (framework resource): only the group it belongs to
    # requires replacement; ports, protocol and peer are modified in place.
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("securityGroupId",),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("securityGroupId",),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": ("repository",),
    "aws:ecr/repository:Repository": ("name", "encryptionConfigurations"),
    "aws:eks/accessEntry:AccessEntry": ("clusterName", "principalArn", "type"),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": ("clusterName", "principalArn", "policyArn", "accessScope"),
    "aws:eks/addon:Addon": ("addonName", "clusterName"),
    # eks/cluster.go (read at commit 00555dc5): vpcConfig, version, logging and access mode
    # update in place; encryptionConfig forces a new cluster only when removed (REMOVAL_FORCES).
    "aws:eks/cluster:Cluster": (
        "name", "roleArn", "bootstrapSelfManagedAddons", "accessConfig.bootstrapClusterCreatorAdminPermissions",
        "kubernetesNetworkConfig.ipFamily", "kubernetesNetworkConfig.serviceIpv4Cidr", "outpostConfig",
        "remoteNetworkConfig", "computeConfig.nodeRoleArn",
    ),
    "aws:eks/nodeGroup:NodeGroup": (
        "amiType", "capacityType", "clusterName", "diskSize", "instanceTypes", "launchTemplate.id",
        "launchTemplate.name", "nodeGroupName", "nodeGroupNamePrefix", "nodeRoleArn", "remoteAccess", "subnetIds",
    ),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": ("clusterName", "namespace", "serviceAccount"),
    "aws:iam/role:Role": (*_TAGGED_NAME, "path"),
    "aws:iam/rolePolicy:RolePolicy": (*_TAGGED_NAME, "role"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("role", "policyArn"),
    "aws:kms/alias:Alias": (*_TAGGED_NAME,),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"),
    "aws:route53/zone:Zone": ("name", "delegationSetId"),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix", "objectLockEnabled"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ("bucket", "expectedBucketOwner"),
    "aws:s3/bucketObjectv2:BucketObjectv2": ("bucket", "key"),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ("bucket",),
    "aws:s3/bucketPolicy:BucketPolicy": ("bucket",),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ("bucket",),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": ("bucket", "expectedBucketOwner"),
    "aws:s3/bucketVersioning:BucketVersioning": ("bucket", "expectedBucketOwner"),
    # A SageMaker model, endpoint configuration and endpoint cannot be edited: every input of
    # the first two is ForceNew (the program names them by content for blue/green updates).
    "aws:sagemaker/model:Model": (
        "name", "primaryContainer", "containers", "executionRoleArn", "vpcConfig", "enableNetworkIsolation",
        "inferenceExecutionConfig",
    ),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": (
        "name", "productionVariants", "shadowProductionVariants", "dataCaptureConfig", "kmsKeyArn", "asyncInferenceConfig",
    ),
    "aws:sagemaker/endpoint:Endpoint": ("name",),
    "random:index/randomPassword:RandomPassword": (
        "length", "special", "upper", "lower", "numeric", "minLower", "minUpper", "minNumeric", "minSpecial",
        "overrideSpecial", "keepers",
    ),
    # Built and pushed anew on a context change; the old image stays in the registry.
    "docker-build:index:Image": (),
}

# Properties that force a replacement only when they are taken away (a CustomizeDiff rule).
REMOVAL_FORCES: dict[str, tuple[str, ...]] = {"aws:eks/cluster:Cluster": ("encryptionConfig",)}

_KUBERNETES_IDENTITY = ("metadata.name", "metadata.namespace")
KUBERNETES_IMMUTABLE: dict[str, tuple[str, ...]] = {
    "kubernetes:apps/v1:Deployment": ("spec.selector",),
    "kubernetes:core/v1:Secret": ("type",),
    "kubernetes:storage.k8s.io/v1:StorageClass": ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"),
    # A Helm release is one name in one namespace: another name is another release.
    "kubernetes:helm.sh/v3:Release": ("name", "namespace"),
}


# A provider replaced is every resource it manages replaced: another region is other AWS
# resources; another cluster (its kubeconfig) is other Kubernetes objects.
PROVIDERS: dict[str, tuple[str, ...]] = {
    "pulumi:providers:aws": ("region",),
    "pulumi:providers:kubernetes": ("kubeconfig",),
    "pulumi:providers:docker-build": (),
    "pulumi:providers:random": (),
}


def replace_on_change(typ: str) -> tuple[str, ...] | None:
    """The replace-on-change input paths of `typ`; None for a type the table does not know."""
    if typ in AWS:
        return AWS[typ]
    if typ == "kubernetes:helm.sh/v3:Release":
        return KUBERNETES_IMMUTABLE[typ]
    if typ.startswith("kubernetes:"):
        return _KUBERNETES_IDENTITY + KUBERNETES_IMMUTABLE.get(typ, ())
    if typ in PROVIDERS:
        return PROVIDERS[typ]
    if typ.startswith("ml-serving:"):
        return ()
    return None


def forcing(typ: str, changed_paths: Iterable[str], before: dict | None = None, after: dict | None = None) -> list[str]:
    """The replace-on-change properties among `changed_paths` (dotted input paths of the
    `before` and `after` inputs)."""
    paths = list(changed_paths)

    def touched(prop: str) -> bool:
        return any(path == prop or path.startswith(prop + ".") for path in paths)

    hits = [prop for prop in replace_on_change(typ) or () if touched(prop)]
    for prop in REMOVAL_FORCES.get(typ, ()):
        if touched(prop) and (before or {}).get(prop) and not (after or {}).get(prop):
            hits.append(prop)
    return hits
