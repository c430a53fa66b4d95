"""An EFA pool's node group under recording mocks: its EFA interfaces, security group and rules,
cluster placement group, one zone's subnet, and the autoscaler's view of its EFA devices."""
from components.cluster import Cluster, ClusterArgs
from components.preview.engine import run_under_mocks
from components.preview.fakes import digest
from tests.factories import spec_of

NODE_GROUP = "ml-serving:node_group:NodeGroup"


def _prod_cluster():
    spec = spec_of("prod")

    def program():
        Cluster(
            "c",
            ClusterArgs(
                cluster_name="ml-serving-prod",
                spec=spec.cluster,
                private_subnet_ids=["subnet-a", "subnet-b", "subnet-c"],
                key_arn="arn:aws:kms:us-east-1:123456789012:key/k",
                region=spec.region,
                protect=False,
                vpc_id="vpc-1",
            ),
        )

    return run_under_mocks(program)


def test_efa_pool_children_types_names_and_parent():
    rec = _prod_cluster()
    parent = rec.get(NODE_GROUP, "c-gpu-h100")
    for typ, name in (
        ("aws:ec2/placementGroup:PlacementGroup", "c-gpu-h100-placement"),
        ("aws:ec2/securityGroup:SecurityGroup", "c-gpu-h100-efa"),
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "c-gpu-h100-efa-in"),
        ("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "c-gpu-h100-efa-out"),
    ):
        assert rec.get(typ, name).parent == parent.urn
    assert rec.get("aws:ec2/placementGroup:PlacementGroup", "c-gpu-h100-placement").inputs["strategy"] == "cluster"
    assert rec.get("aws:ec2/securityGroup:SecurityGroup", "c-gpu-h100-efa").inputs["vpcId"] == "vpc-1"


def test_efa_rules_allow_all_traffic_to_and_from_the_group_itself_only():
    rec = _prod_cluster()
    group_id = f"sg-{digest('c-gpu-h100-efa', 17)}"  # the mock provider's id for that group
    for typ, name in (
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "c-gpu-h100-efa-in"),
        ("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "c-gpu-h100-efa-out"),
    ):
        rule = rec.get(typ, name).inputs
        assert rule["ipProtocol"] == "-1"
        assert rule["securityGroupId"] == group_id and rule["referencedSecurityGroupId"] == group_id
        assert "cidrIpv4" not in rule and "cidrIpv6" not in rule


def test_launch_template_has_one_efa_interface_per_network_card_and_the_placement_group():
    rec = _prod_cluster()
    template = rec.get("aws:ec2/launchTemplate:LaunchTemplate", "c-gpu-h100-template").inputs
    interfaces = template["networkInterfaces"]
    assert len(interfaces) == 32
    assert [i["networkCardIndex"] for i in interfaces] == list(range(32))
    assert (interfaces[0]["interfaceType"], interfaces[0]["deviceIndex"]) == ("efa", 0)
    assert {(i["interfaceType"], i["deviceIndex"]) for i in interfaces[1:]} == {("efa-only", 1)}
    cluster_sg, efa_sg = f"sg-{digest('c-eks' + 'cluster', 17)}", f"sg-{digest('c-gpu-h100-efa', 17)}"
    assert all(i["securityGroups"] == [cluster_sg, efa_sg] for i in interfaces)
    # EKS managed node groups refuse a subnet in the template and security groups at its top level.
    assert all("subnetId" not in i for i in interfaces) and "vpcSecurityGroupIds" not in template
    placement = rec.get("aws:ec2/placementGroup:PlacementGroup", "c-gpu-h100-placement")
    assert template["placement"]["groupName"].startswith("c-gpu-h100-placement")
    assert placement.urn in rec.get("aws:ec2/launchTemplate:LaunchTemplate", "c-gpu-h100-template").property_dependencies["placement"]


def test_efa_pool_runs_in_its_zones_subnet_and_tells_the_autoscaler_its_efa_devices():
    rec = _prod_cluster()
    group = rec.get("aws:eks/nodeGroup:NodeGroup", "c-gpu-h100-nodes").inputs
    assert group["subnetIds"] == ["subnet-a"]
    assert group["labels"]["ml-serving/efa"] == "true"
    tags = {t.inputs["tag"]["key"]: t.inputs["tag"]["value"] for t in rec.of_type("aws:autoscaling/tag:Tag") if "gpu-h100" in t.name}
    assert tags["k8s.io/cluster-autoscaler/node-template/resources/vpc.amazonaws.com/efa"] == "32"
    assert tags["k8s.io/cluster-autoscaler/node-template/label/ml-serving/efa"] == "true"


def test_spread_pools_keep_every_zone_and_no_efa():
    rec = _prod_cluster()
    group = rec.get("aws:eks/nodeGroup:NodeGroup", "c-gpu-l40s-nodes").inputs
    assert group["subnetIds"] == ["subnet-a", "subnet-b", "subnet-c"] and "ml-serving/efa" not in group["labels"]
    template = rec.get("aws:ec2/launchTemplate:LaunchTemplate", "c-gpu-l40s-template").inputs
    assert "networkInterfaces" not in template and "placement" not in template
    assert [r.name for r in rec.of_type("aws:ec2/placementGroup:PlacementGroup")] == ["c-gpu-h100-placement"]
