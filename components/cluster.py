"""Cluster: the EKS control plane, who may reach it, its managed add-ons, its node groups and
the Kubernetes provider every in-cluster resource goes through."""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.compilers import iam
from components.compilers.kubeconfig import kubeconfig
from components.compilers.node_groups import gpu_shape, system_shape
from components.intent.cluster import ClusterSpec
from components.node_group import NodeGroup, NodeGroupArgs

CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
CLUSTER_VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
STORAGE_CLASS = "gp3-encrypted"
VPC_CNI_CONFIGURATION = {"enableNetworkPolicy": "true"}


@dataclass(frozen=True)
class ClusterArgs:
    cluster_name: str
    spec: ClusterSpec
    private_subnet_ids: list[pulumi.Input[str]]
    key_arn: pulumi.Input[str]
    region: str
    protect: bool
    # Cost tags for what node groups launch (see NodeGroupArgs.tags).
    tags: Mapping[str, str] = field(default_factory=dict)
    # The VPC, for the security groups of EFA pools.
    vpc_id: pulumi.Input[str] | None = None


def _managed_policy(partition: str, name: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{name}"


class Cluster(pulumi.ComponentResource):
    name: pulumi.Output[str]
    provider: k8s.Provider
    # In-cluster installs wait for these: nodes to run pods on, DNS, and volumes.
    ready: list[pulumi.Resource]
    gpu_node_groups: dict[str, NodeGroup]

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:cluster:Cluster", name, None, opts)
        spec = args.spec
        child = pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition(opts=pulumi.InvokeOptions(parent=self)).partition

        cluster_role = aws.iam.Role(
            f"{name}-control-plane",
            assume_role_policy=json.dumps(iam.service_trust("eks.amazonaws.com")),
            opts=child,
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-control-plane",
            role=cluster_role.name,
            policy_arn=_managed_policy(partition, "AmazonEKSClusterPolicy"),
            opts=child,
        )
        # EKS would create this group itself, unencrypted and kept forever.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=spec.log_retention_days,
            kms_key_id=args.key_arn,
            opts=child,
        )
        public = bool(spec.public_access_cidrs)
        cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=spec.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args.private_subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=public,
                public_access_cidrs=[str(c) for c in spec.public_access_cidrs] if public else None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                # The identity running `pulumi up` installs the charts, so it needs access: as a
                # managed entry when the stack names it, otherwise EKS grants its creator.
                bootstrap_cluster_creator_admin_permissions=spec.deployer_role_arn is None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"],
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=args.key_arn),
            ),
            enabled_cluster_log_types=list(spec.log_types),
            # Extended support costs six times the standard control-plane price.
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            # Add-ons are EKS-managed below, so EKS upgrades them with the cluster.
            bootstrap_self_managed_addons=False,
            deletion_protection=args.protect,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster_policy, log_group], protect=args.protect),
        )
        self.name = cluster.name

        access = [("admin", arn, CLUSTER_ADMIN_POLICY) for arn in spec.admin_role_arns]
        access += [("viewer", arn, CLUSTER_VIEW_POLICY) for arn in spec.viewer_role_arns]
        if spec.deployer_role_arn:
            access.append(("deployer", spec.deployer_role_arn, CLUSTER_ADMIN_POLICY))
        deployer_access: list[pulumi.Resource] = []
        for role, role_arn, policy_arn in access:
            key = re.sub(r"[^a-z0-9]+", "-", role_arn.rsplit("/", 1)[-1].lower()).strip("-")
            entry = aws.eks.AccessEntry(
                f"{name}-{role}-{key}", cluster_name=cluster.name, principal_arn=role_arn, type="STANDARD", opts=child
            )
            association = aws.eks.AccessPolicyAssociation(
                f"{name}-{role}-{key}",
                cluster_name=cluster.name,
                principal_arn=entry.principal_arn,
                policy_arn=policy_arn,
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=child,
            )
            if role == "deployer":
                deployer_access.append(association)

        node_role = aws.iam.Role(
            f"{name}-nodes", assume_role_policy=json.dumps(iam.service_trust("ec2.amazonaws.com")), opts=child
        )
        node_policies = [
            aws.iam.RolePolicyAttachment(
                f"{name}-nodes-{policy.lower().replace('_', '-')}",
                role=node_role.name,
                policy_arn=_managed_policy(partition, policy),
                opts=child,
            )
            for policy in ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly", "AmazonEKS_CNI_Policy")
        ]
        # Nodes only become Ready once networking runs, so these come before any node group.
        networking = [self._addon(name, cluster, addon) for addon in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")]

        def node_group(key: str, shape) -> NodeGroup:
            return NodeGroup(
                f"{name}-{key}",
                NodeGroupArgs(
                    cluster_name=cluster.name,
                    node_role_arn=node_role.arn,
                    subnet_ids=args.private_subnet_ids,
                    key_arn=args.key_arn,
                    shape=shape,
                    tags=args.tags,
                    vpc_id=args.vpc_id,
                    cluster_security_group_id=cluster.vpc_config.cluster_security_group_id,
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*node_policies, *networking]),
            )

        system_nodes = node_group("system", system_shape(spec.system_nodes))
        self.gpu_node_groups = {pool.name: node_group(f"gpu-{pool.name}", gpu_shape(pool)) for pool in spec.gpu_pools}

        ebs_role = aws.iam.Role(
            f"{name}-ebs-csi", assume_role_policy=json.dumps(iam.pod_identity_trust()), opts=child
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-ebs-csi",
            role=ebs_role.name,
            policy_arn=_managed_policy(partition, "service-role/AmazonEBSCSIDriverPolicy"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-ebs-csi-kms",
            role=ebs_role.name,
            policy=pulumi.Output.from_input(args.key_arn).apply(lambda arn: json.dumps(iam.ebs_csi_kms(arn))),
            opts=child,
        )
        after_nodes = pulumi.ResourceOptions(parent=self, depends_on=[system_nodes])
        coredns = self._addon(name, cluster, "coredns", after_nodes)
        ebs = self._addon(
            name,
            cluster,
            "aws-ebs-csi-driver",
            after_nodes,
            pod_identity=[aws.eks.AddonPodIdentityAssociationArgs(role_arn=ebs_role.arn, service_account="ebs-csi-controller-sa")],
        )

        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=pulumi.Output.all(
                name=cluster.name, endpoint=cluster.endpoint, authority=cluster.certificate_authority.data
            ).apply(lambda a: kubeconfig(a["name"], a["endpoint"], a["authority"], args.region)),
            enable_server_side_apply=True,
            opts=child,
        )
        storage_class = k8s.storage.v1.StorageClass(
            f"{name}-{STORAGE_CLASS}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=STORAGE_CLASS,
                annotations={"storageclass.kubernetes.io/is-default-class": "true"},
            ),
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true", "kmsKeyId": args.key_arn},
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Delete",
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=[ebs]),
        )
        self.ready = [system_nodes, coredns, storage_class, *deployer_access]
        self.register_outputs({"name": cluster.name, "endpoint": cluster.endpoint})

    def _addon(
        self,
        name: str,
        cluster: aws.eks.Cluster,
        addon: str,
        opts: pulumi.ResourceOptions | None = None,
        pod_identity: list[aws.eks.AddonPodIdentityAssociationArgs] | None = None,
    ) -> aws.eks.Addon:
        # No addon_version: EKS installs the default build for the cluster's version and
        # moves it on cluster upgrades.
        return aws.eks.Addon(
            f"{name}-{addon}",
            cluster_name=cluster.name,
            addon_name=addon,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            pod_identity_associations=pod_identity,
            # The VPC CNI enforces NetworkPolicies (the models namespace's default-deny) only when asked to.
            configuration_values=json.dumps(VPC_CNI_CONFIGURATION) if addon == "vpc-cni" else None,
            opts=opts or pulumi.ResourceOptions(parent=self),
        )
