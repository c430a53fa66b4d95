"""NodeGroup: one EKS managed node group with an encrypted gp3 launch template and, for
GPU pools, the ASG tags Cluster Autoscaler needs to scale it up from zero."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.compilers.node_groups import (
    EfaPlacement,
    NodeGroupShape,
    efa_interfaces,
    node_group_name_prefix,
    tag_resource_key,
)


@dataclass(frozen=True)
class NodeGroupArgs:
    cluster_name: pulumi.Input[str]
    node_role_arn: pulumi.Input[str]
    subnet_ids: list[pulumi.Input[str]]
    key_arn: pulumi.Input[str]
    shape: NodeGroupShape
    # The provider's default tags reach the launch template but not the instances and volumes
    # Auto Scaling launches from it; GPU instances are most of the bill.
    tags: Mapping[str, str] = field(default_factory=dict)
    # For EFA pools: the VPC their EFA security group lives in, and the security group EKS gives
    # managed nodes, which a launch template with network interfaces must name itself.
    vpc_id: pulumi.Input[str] | None = None
    cluster_security_group_id: pulumi.Input[str] | None = None


class NodeGroup(pulumi.ComponentResource):
    node_group: aws.eks.NodeGroup

    def __init__(self, name: str, args: NodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:node_group:NodeGroup", name, None, opts)
        shape = args.shape
        subnet_ids, placed = self._cluster_placement(name, args, shape.placement)
        template = aws.ec2.LaunchTemplate(
            f"{name}-template",
            description=f"Nodes of pool {shape.key}: encrypted gp3 disk, IMDSv2 only",
            **placed,
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=shape.disk_device,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=shape.disk_gib,
                        volume_type="gp3",
                        # Image layers of 10-20 GB unpack faster above gp3's 125 MiB/s baseline.
                        throughput=500,
                        iops=6000,
                        encrypted="true",
                        kms_key_id=args.key_arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                # One hop keeps pods off the node's instance role: they get their own roles
                # through EKS Pod Identity.
                http_put_response_hop_limit=1,
            ),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=dict(args.tags))
                for kind in ("instance", "volume")
            ]
            if args.tags
            else None,
            # Cold-start levers for nodeadm; EKS appends its own NodeConfig part to it.
            user_data=shape.user_data,
            update_default_version=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        warm_pool = None
        if shape.warm_pool is not None:
            warm_pool = aws.eks.NodeGroupWarmPoolConfigArgs(
                min_size=shape.warm_pool.min_size,
                pool_state=shape.warm_pool.pool_state,
                reuse_on_scale_in=shape.warm_pool.reuse_on_scale_in,
                # Equal to min_size, the warm pool has exactly that size; larger, Auto Scaling
                # keeps (capacity - desired) instances warm (PutWarmPool documentation).
                max_group_prepared_capacity=shape.warm_pool.min_size,
            )
        self.node_group = aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=args.cluster_name,
            # A prefix, not a fixed name: a change EKS cannot make in place (instance types,
            # capacity type, AMI type, subnets) creates the new group before the old one goes.
            node_group_name_prefix=node_group_name_prefix(shape.key),
            node_role_arn=args.node_role_arn,
            subnet_ids=subnet_ids,
            instance_types=shape.instance_types,
            ami_type=shape.ami_type,
            capacity_type=shape.capacity_type,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=shape.min_size, max_size=shape.max_size, desired_size=shape.min_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version=template.latest_version.apply(str)),
            labels=shape.labels,
            taints=[
                aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value, effect=t.effect) for t in shape.taints
            ],
            warm_pool_config=warm_pool,
            opts=pulumi.ResourceOptions(
                parent=self,
                # Cluster Autoscaler owns the node count once the group exists.
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )
        asg_name = self.node_group.resources.apply(lambda r: r[0].autoscaling_groups[0].name)
        for key, value in shape.template_tags.items():
            aws.autoscaling.Tag(
                f"{name}-{tag_resource_key(key)}",
                autoscaling_group_name=asg_name,
                tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"nodeGroupName": self.node_group.node_group_name})

    def _cluster_placement(
        self, name: str, args: NodeGroupArgs, placement: EfaPlacement | None
    ) -> tuple[list[pulumi.Input[str]], dict]:
        """Subnets of the node group and launch-template settings: a spread pool keeps every
        zone; a cluster-placed one runs in one zone's subnet inside a cluster placement group
        and, with EFA, gets one EFA interface per network card."""
        if placement is None:
            return args.subnet_ids, {}
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.PlacementGroup(f"{name}-placement", strategy="cluster", opts=child)
        settings: dict = {"placement": aws.ec2.LaunchTemplatePlacementArgs(group_name=group.name)}
        if placement.efa:
            if args.vpc_id is None or args.cluster_security_group_id is None:
                raise ValueError(f"EFA pool {args.shape.key} needs vpc_id and cluster_security_group_id")
            efa_group = aws.ec2.SecurityGroup(
                f"{name}-efa",
                description=f"EFA between nodes of pool {args.shape.key}: all traffic to and from this group",
                vpc_id=args.vpc_id,
                opts=child,
            )
            # EFA's OS-bypass traffic flows only between interfaces whose security group allows
            # all traffic to and from itself (EC2 User Guide, "Prepare an EFA-enabled security group").
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-efa-in",
                security_group_id=efa_group.id,
                referenced_security_group_id=efa_group.id,
                ip_protocol="-1",
                description="EFA from nodes of this pool",
                opts=child,
            )
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-efa-out",
                security_group_id=efa_group.id,
                referenced_security_group_id=efa_group.id,
                ip_protocol="-1",
                description="EFA to nodes of this pool",
                opts=child,
            )
            # With interfaces in the template EKS adds no security group of its own: each interface
            # names the cluster's (control plane, pods, DNS) and the EFA one.
            groups = [args.cluster_security_group_id, efa_group.id]
            settings["network_interfaces"] = [
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(**interface, security_groups=groups)
                for interface in efa_interfaces(placement.network_cards)
            ]
        return [args.subnet_ids[placement.zone_index]], settings
