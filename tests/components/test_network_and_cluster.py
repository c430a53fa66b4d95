"""Network, Cluster and NodeGroup under recording mocks: children, their inputs and options."""
import json

from components.cluster import Cluster, ClusterArgs
from components.network import Network, NetworkArgs
from components.preview.engine import run_under_mocks
from tests.factories import spec_of


def _network(stack):
    spec = spec_of(stack)
    return run_under_mocks(lambda: Network("net", NetworkArgs(spec.network, cluster_name="ml-serving-x")))


def test_dev_network_two_zones_one_nat():
    rec = _network("dev")
    net = rec.get("ml-serving:network:Network", "net")
    subnets = rec.of_type("aws:ec2/subnet:Subnet")
    assert sorted(s.name for s in subnets) == [
        "net-private-us-east-1a", "net-private-us-east-1b", "net-public-us-east-1a", "net-public-us-east-1b",
    ]
    assert all(s.parent == net.urn for s in subnets)
    private = rec.get("aws:ec2/subnet:Subnet", "net-private-us-east-1a").inputs
    assert private["tags"]["kubernetes.io/role/internal-elb"] == "1"
    assert private["tags"]["kubernetes.io/cluster/ml-serving-x"] == "shared"
    assert private["cidrBlock"] == "10.40.0.0/19"
    assert rec.get("aws:ec2/subnet:Subnet", "net-public-us-east-1a").inputs["mapPublicIpOnLaunch"] is False
    assert len(rec.of_type("aws:ec2/natGateway:NatGateway")) == 1
    nat_id = rec.of_type("aws:ec2/natGateway:NatGateway")[0]
    routes = [rt.inputs["routes"][0] for rt in rec.of_type("aws:ec2/routeTable:RouteTable") if "natGatewayId" in rt.inputs["routes"][0]]
    assert len(routes) == 2 and len({r["natGatewayId"] for r in routes}) == 1 and nat_id


def test_prod_network_has_a_nat_per_zone_and_private_endpoints():
    rec = _network("prod")
    assert len(rec.of_type("aws:ec2/natGateway:NatGateway")) == 3
    endpoints = {e.inputs["serviceName"]: e.inputs for e in rec.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert set(endpoints) == {"com.amazonaws.us-east-1.s3", "com.amazonaws.us-east-1.ecr.api", "com.amazonaws.us-east-1.ecr.dkr"}
    assert endpoints["com.amazonaws.us-east-1.s3"]["vpcEndpointType"] == "Gateway"
    assert len(endpoints["com.amazonaws.us-east-1.s3"]["routeTableIds"]) == 3
    assert endpoints["com.amazonaws.us-east-1.ecr.dkr"]["privateDnsEnabled"] is True


def _cluster(stack, protect=False):
    spec = spec_of(stack)

    def program():
        Cluster(
            "c",
            ClusterArgs(
                cluster_name=f"ml-serving-{spec.environment}",
                spec=spec.cluster,
                private_subnet_ids=["subnet-a", "subnet-b", "subnet-c"],
                key_arn="arn:aws:kms:us-east-1:123456789012:key/k",
                region=spec.region,
                protect=protect,
                vpc_id="vpc-1",
            ),
        )

    return run_under_mocks(program)


def test_control_plane_is_encrypted_private_and_logged():
    rec = _cluster("prod", protect=True)
    cluster = rec.get("aws:eks/cluster:Cluster", "c-eks")
    inputs = cluster.inputs
    assert inputs["name"] == "ml-serving-prod" and inputs["version"] == "1.35"
    assert inputs["encryptionConfig"] == {"resources": ["secrets"], "provider": {"keyArn": "arn:aws:kms:us-east-1:123456789012:key/k"}}
    assert inputs["vpcConfig"]["endpointPrivateAccess"] is True
    assert inputs["vpcConfig"]["publicAccessCidrs"] == ["198.51.100.0/24"]
    assert inputs["vpcConfig"]["subnetIds"] == ["subnet-a", "subnet-b", "subnet-c"]
    assert inputs["accessConfig"]["authenticationMode"] == "API"
    assert inputs["enabledClusterLogTypes"] == ["api", "audit", "authenticator"]
    assert inputs["upgradePolicy"] == {"supportType": "STANDARD"}
    assert cluster.protect and inputs["deletionProtection"] is True
    log_group = rec.get("aws:cloudwatch/logGroup:LogGroup", "c-control-plane-logs").inputs
    assert log_group["name"] == "/aws/eks/ml-serving-prod/cluster" and log_group["retentionInDays"] == 90
    assert log_group["kmsKeyId"].startswith("arn:aws:kms:")


def test_dev_cluster_is_not_protected_and_allow_lists_its_endpoint():
    rec = _cluster("dev")
    cluster = rec.get("aws:eks/cluster:Cluster", "c-eks")
    assert not cluster.protect and cluster.inputs["deletionProtection"] is False
    assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is True


def test_admins_get_access_entries_not_aws_auth():
    rec = _cluster("prod")
    entries = {e.name: e.inputs["principalArn"] for e in rec.of_type("aws:eks/accessEntry:AccessEntry")}
    assert entries == {
        "c-admin-ml-platform-admins": "arn:aws:iam::444455556666:role/ml-platform-admins",
        "c-deployer-ml-serving-deploy-prod": "arn:aws:iam::444455556666:role/ml-serving-deploy-prod",
        "c-viewer-ml-serving-preview": "arn:aws:iam::444455556666:role/ml-serving-preview",
    }
    policy = rec.get("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "c-admin-ml-platform-admins").inputs
    assert policy["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert not [r for r in rec.resources if r.type == "kubernetes:core/v1:ConfigMap"], "no aws-auth ConfigMap editing"


def test_networking_add_ons_come_before_nodes_and_dns_after():
    rec = _cluster("dev")
    addons = {a.inputs["addonName"]: a for a in rec.of_type("aws:eks/addon:Addon")}
    assert set(addons) == {"vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns", "aws-ebs-csi-driver"}
    gpu_nodes = rec.get("aws:eks/nodeGroup:NodeGroup", "c-gpu-l4-nodes")
    assert addons["vpc-cni"].urn in rec.get("ml-serving:node_group:NodeGroup", "c-gpu-l4").depends_on
    # Depending on a component means depending on its children: the system nodes.
    assert rec.get("aws:eks/nodeGroup:NodeGroup", "c-system-nodes").urn in addons["coredns"].depends_on
    ebs = addons["aws-ebs-csi-driver"].inputs
    assert ebs["podIdentityAssociations"][0]["serviceAccount"] == "ebs-csi-controller-sa"
    assert gpu_nodes.inputs["nodeGroupNamePrefix"] == "l4-" and "nodeGroupName" not in gpu_nodes.inputs


def test_gpu_node_group_settings_and_scale_from_zero_tags():
    rec = _cluster("dev")
    group = rec.get("aws:eks/nodeGroup:NodeGroup", "c-gpu-l4-nodes")
    assert group.ignore_changes == ["scalingConfig.desiredSize"]
    assert group.inputs["scalingConfig"] == {"minSize": 0, "maxSize": 3, "desiredSize": 0}
    assert group.inputs["amiType"] == "AL2023_x86_64_NVIDIA" and group.inputs["capacityType"] == "SPOT"
    assert group.inputs["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert group.inputs["subnetIds"] == ["subnet-a", "subnet-b", "subnet-c"]
    template = rec.get("aws:ec2/launchTemplate:LaunchTemplate", "c-gpu-l4-template").inputs
    ebs = template["blockDeviceMappings"][0]["ebs"]
    assert (ebs["volumeType"], ebs["volumeSize"], ebs["encrypted"]) == ("gp3", 200, "true")
    assert template["metadataOptions"]["httpTokens"] == "required"
    tags = {t.inputs["tag"]["key"]: t.inputs for t in rec.of_type("aws:autoscaling/tag:Tag") if t.parent_type == "ml-serving:node_group:NodeGroup" and "gpu-l4" in t.name}
    gpu_tag = tags["k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"]
    assert gpu_tag["tag"]["value"] == "1" and gpu_tag["tag"]["propagateAtLaunch"] is False
    assert gpu_tag["autoscalingGroupName"].startswith("eks-l4-")


def test_prod_warm_pool_on_the_l40s_pool():
    rec = _cluster("prod")
    warm = rec.get("aws:eks/nodeGroup:NodeGroup", "c-gpu-l40s-nodes").inputs["warmPoolConfig"]
    # An absolute size: one stopped instance, however far the group has scaled.
    assert warm == {"minSize": 1, "poolState": "STOPPED", "reuseOnScaleIn": True, "maxGroupPreparedCapacity": 1}


def test_node_role_has_no_inline_wildcards_and_ebs_role_uses_the_stack_key():
    rec = _cluster("dev")
    attached = {a.inputs["policyArn"].rsplit("/", 1)[-1] for a in rec.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert {"AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly", "AmazonEKS_CNI_Policy", "AmazonEKSClusterPolicy", "AmazonEBSCSIDriverPolicy"} == attached
    kms = json.loads(rec.get("aws:iam/rolePolicy:RolePolicy", "c-ebs-csi-kms").inputs["policy"])
    assert {s["Resource"] for s in kms["Statement"]} == {"arn:aws:kms:us-east-1:123456789012:key/k"}


def test_kubernetes_objects_go_through_the_clusters_provider():
    rec = _cluster("dev")
    provider = rec.get("pulumi:providers:kubernetes", "c-k8s")
    kubeconfig = json.loads(provider.inputs["kubeconfig"])
    assert kubeconfig["users"][0]["user"]["exec"]["args"][:4] == ["eks", "get-token", "--cluster-name", "ml-serving-dev"]
    storage_class = rec.get("kubernetes:storage.k8s.io/v1:StorageClass", "c-gp3-encrypted")
    assert storage_class.provider.startswith(provider.urn)
    assert storage_class.inputs["parameters"] == {"type": "gp3", "encrypted": "true", "kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/k"}


def test_ci_preview_role_gets_read_only_access():
    rec = _cluster("prod")
    viewer = rec.get("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "c-viewer-ml-serving-preview").inputs
    assert viewer["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
    assert viewer["principalArn"] == "arn:aws:iam::444455556666:role/ml-serving-preview"


def test_the_deployer_gets_a_managed_entry_that_in_cluster_installs_wait_for():
    rec = _cluster("prod")
    cluster = rec.get("aws:eks/cluster:Cluster", "c-eks").inputs
    # A managed entry replaces EKS's implicit one for the creator (two would clash).
    assert cluster["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
    deployer = rec.get("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "c-deployer-ml-serving-deploy-prod")
    assert deployer.inputs["policyArn"].endswith("/AmazonEKSClusterAdminPolicy")
    storage_class = rec.get("kubernetes:storage.k8s.io/v1:StorageClass", "c-gp3-encrypted")
    assert deployer.urn not in storage_class.depends_on  # the class only needs the CSI driver


def test_without_a_deployer_eks_grants_the_creator():
    spec = spec_of("dev")
    cluster_spec = spec.cluster.model_copy(update={"deployer_role_arn": None})

    def program():
        Cluster("c", ClusterArgs("ml-serving-dev", cluster_spec, ["subnet-a"], "arn:aws:kms:us-east-1:1:key/k", "us-east-1", False))

    rec = run_under_mocks(program)
    assert rec.get("aws:eks/cluster:Cluster", "c-eks").inputs["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is True


def test_launched_gpu_instances_and_volumes_carry_the_cost_tags():
    spec = spec_of("prod")
    tags = {"team": "ml-platform", "cost-center": "cc-4410"}

    def program():
        Cluster("c", ClusterArgs("ml-serving-prod", spec.cluster, ["subnet-a"], "arn:aws:kms:us-east-1:1:key/k", "us-east-1", True, tags, vpc_id="vpc-1"))

    template = run_under_mocks(program).get("aws:ec2/launchTemplate:LaunchTemplate", "c-gpu-l40s-template").inputs
    assert template["tagSpecifications"] == [{"resourceType": "instance", "tags": tags}, {"resourceType": "volume", "tags": tags}]
