"""Network plan, node group shapes, IAM documents, Helm values and Gateway objects."""
import json

from components.compilers import gateway, helm_values, iam
from components.compilers.dashboards import dashboard_config_map
from components.compilers.network import nat_zone_for, subnet_plan
from components.compilers.node_groups import gpu_shape, system_shape, tag_resource_key
from components.intent.cluster import GpuNodePool, Observability, SystemNodeGroup
from components.intent.network import NetworkSpec


def test_subnets_per_zone_and_nat_layout():
    prod = NetworkSpec(cidr="10.42.0.0/16", availability_zones=3, nat_gateways="one_per_az")
    plan = subnet_plan(prod)
    assert [(p.private_cidr, p.public_cidr, p.has_nat) for p in plan] == [
        ("10.42.0.0/19", "10.42.224.0/22", True),
        ("10.42.32.0/19", "10.42.228.0/22", True),
        ("10.42.64.0/19", "10.42.232.0/22", True),
    ]
    assert [nat_zone_for(p, prod) for p in plan] == [0, 1, 2]
    dev = NetworkSpec(cidr="10.40.0.0/16", availability_zones=2, nat_gateways="single")
    assert [p.has_nat for p in subnet_plan(dev)] == [True, False]
    assert [nat_zone_for(p, dev) for p in subnet_plan(dev)] == [0, 0]


def test_gpu_pool_shape_taints_labels_and_scale_from_zero_tags():
    shape = gpu_shape(GpuNodePool(name="l4", instance_types=["g6.xlarge"], max_size=3, capacity_type="spot"))
    assert shape.ami_type == "AL2023_x86_64_NVIDIA" and shape.capacity_type == "SPOT"
    assert shape.min_size == 0 and shape.disk_device == "/dev/xvda"
    assert [(t.key, t.value, t.effect) for t in shape.taints] == [("nvidia.com/gpu", "true", "NO_SCHEDULE")]
    assert shape.labels == {
        "ml-serving/pool": "l4",
        "ml-serving/gpu": "true",
        "k8s.amazonaws.com/accelerator": "nvidia-l4",
        "nvidia.com/gpu.present": "true",
    }
    tags = shape.template_tags
    assert tags["k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"] == "1"
    assert tags["k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"] == "true:NoSchedule"
    assert tags["k8s.io/cluster-autoscaler/node-template/label/ml-serving/pool"] == "l4"
    assert tag_resource_key("k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu") == "resources-nvidia-com-gpu"


def test_bottlerocket_pools_keep_their_own_device_plugin_and_data_volume():
    shape = gpu_shape(GpuNodePool(name="br", instance_types=["g6e.12xlarge"], max_size=2, ami="bottlerocket_nvidia"))
    assert shape.ami_type == "BOTTLEROCKET_x86_64_NVIDIA"
    assert "nvidia.com/gpu.present" not in shape.labels
    assert shape.disk_device == "/dev/xvdb"
    assert shape.template_tags["k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"] == "4"


def test_warm_pool_shape():
    pool = GpuNodePool(name="l40s", instance_types=["g6e.xlarge"], max_size=4, warm_pool={"min_size": 2})
    warm = gpu_shape(pool).warm_pool
    assert (warm.min_size, warm.pool_state, warm.reuse_on_scale_in) == (2, "STOPPED", True)


def test_system_nodes_are_untainted_on_demand():
    shape = system_shape(SystemNodeGroup())
    assert shape.ami_type == "AL2023_x86_64_STANDARD" and shape.taints == [] and shape.capacity_type == "ON_DEMAND"


def _statements(policy):
    return policy["Statement"]


def test_no_iam_document_grants_everything():
    documents = [
        iam.model_reader("arn:aws:s3:::b", "arn:aws:kms:us-east-1:1:key/k", ["llama/v1/"]),
        iam.cluster_autoscaler("ml-serving-dev", "aws"),
        iam.ebs_csi_kms("arn:aws:kms:us-east-1:1:key/k"),
    ]
    for document in documents:
        for statement in _statements(document):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert "*" not in actions and all(not a.endswith(":*") for a in actions)


def test_model_reader_reads_and_lists_only_the_model_folders():
    statements = {s["Sid"]: s for s in _statements(iam.model_reader("arn:aws:s3:::b", "arn:k", ["llama/v1/", "llama/v2"]))}
    # "llama/v2" is a folder too: without the slash, llama/v2* would also read llama/v20/.
    assert statements["ReadModelObjects"]["Resource"] == ["arn:aws:s3:::b/llama/v1/*", "arn:aws:s3:::b/llama/v2/*"]
    assert statements["ReadModelObjects"]["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert statements["ListModelPrefixes"]["Condition"] == {
        "StringLike": {"s3:prefix": ["llama/v1", "llama/v1/*", "llama/v2", "llama/v2/*"]}
    }
    assert statements["DecryptModelObjects"]["Resource"] == "arn:k"


def test_cluster_autoscaler_writes_only_to_its_clusters_groups():
    statements = {s["Sid"]: s for s in _statements(iam.cluster_autoscaler("ml-serving-prod", "aws"))}
    scale = statements["ScaleOwnedGroups"]
    assert scale["Condition"] == {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/ml-serving-prod": "owned"}}
    assert statements["ReadNodeGroupTemplates"]["Action"] == ["eks:DescribeNodegroup"]


def test_chart_values_override_the_defaults_that_matter():
    assert helm_values.kserve()["kserve"]["controller"]["deploymentMode"] == "Standard"
    assert helm_values.kserve()["kserve"]["controller"]["gateway"]["disableIngressCreation"] is True
    assert helm_values.dcgm_exporter()["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert helm_values.cluster_autoscaler("c", "us-east-1", "1.35")["image"]["tag"] == "v1.35.2"
    assert helm_values.cluster_autoscaler("c", "us-east-1", "1.34")["image"]["tag"] == "v1.34.5"
    kps = helm_values.kube_prometheus_stack(Observability(retention_days=30, storage_gib=200), "gp3-encrypted")
    spec = kps["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "30d"
    assert spec["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "200Gi"
    assert kps["grafana"]["admin"]["existingSecret"] == "grafana-admin"
    for values in (helm_values.keda(), helm_values.dcgm_exporter(), helm_values.cert_manager()):
        assert "kube-prometheus-stack" in json.dumps(values), "monitors carry the release label Prometheus selects"


def test_gateway_objects():
    klass = gateway.gateway_class()
    assert klass["spec"]["controllerName"] == "gateway.envoyproxy.io/gatewayclass-controller"
    proxy = gateway.envoy_proxy()["spec"]["provider"]["kubernetes"]["envoyService"]
    assert proxy["annotations"]["service.beta.kubernetes.io/aws-load-balancer-internal"] == "true"
    listener = gateway.gateway("models", "models.internal")["spec"]["listeners"][0]
    assert listener["hostname"] == "*.models.internal" and listener["allowedRoutes"] == {"namespaces": {"from": "Same"}}


def test_dashboards_are_valid_json_the_sidecar_picks_up():
    for runtime, metric in (("vllm", "vllm:num_requests_waiting"), ("triton", "nv_inference_pending_request_count")):
        config_map = dashboard_config_map(runtime)
        assert config_map["metadata"]["labels"] == {"grafana_dashboard": "1"}
        assert config_map["metadata"]["namespace"] == "monitoring"
        dashboard = json.loads(config_map["data"][f"ml-serving-{runtime}.json"])
        assert dashboard["uid"] == f"ml-serving-{runtime}"
        assert any(metric in t["expr"] for p in dashboard["panels"] for t in p["targets"])


def test_stack_key_lets_ec2_encrypt_this_accounts_volumes_only():
    statements = {s["Sid"]: s for s in iam.stack_key_policy("123456789012", "aws", "us-east-1")["Statement"]}
    volumes = statements["Ec2EncryptsThisAccountsVolumes"]
    assert volumes["Condition"] == {
        "StringEquals": {"kms:CallerAccount": "123456789012", "kms:ViaService": "ec2.us-east-1.amazonaws.com"}
    }
    grants = statements["Ec2AttachesThisAccountsVolumes"]
    assert grants["Action"] == "kms:CreateGrant"
    assert grants["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    logs = statements["CloudWatchLogsEncryptsThisAccountsGroups"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}


def test_s3_sources_are_folders():
    from components.compilers.sources import s3_prefix

    assert s3_prefix("s3://b/llama/v1/") == s3_prefix("s3://b/llama/v1") == "llama/v1/"
    assert s3_prefix("hf://org/model") is None


def test_node_group_name_prefixes_fit_the_provider_limit_at_the_longest_pool_name():
    from components.compilers.node_groups import NODE_GROUP_PREFIX_MAX, node_group_name_prefix

    assert node_group_name_prefix("l4") == "l4-"
    longest = "a" * 39 + "b"  # 40 characters, the most a pool name may have
    assert len(node_group_name_prefix(longest)) == NODE_GROUP_PREFIX_MAX == 37
    assert node_group_name_prefix("a" * 35 + "-b") == "a" * 35 + "-"
