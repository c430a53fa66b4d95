from components.intent.cluster import ClusterSpec, GpuNodePool
from tests.intent.helpers import errors_of

POOL = {"name": "l4", "instance_types": ["g6.xlarge"], "max_size": 4}


def test_pool_defaults_scale_from_zero_on_demand():
    pool = GpuNodePool.model_validate(POOL)
    assert (pool.min_size, pool.capacity_type, pool.ami, pool.disk_gib) == (0, "on_demand", "al2023_nvidia", 200)
    assert pool.gpus_per_node == 1


def test_a_pool_mixes_only_identical_gpu_shapes():
    errors = errors_of(GpuNodePool, {**POOL, "instance_types": ["g6.xlarge", "g5.xlarge"]})
    assert errors == {
        ("instance_types",): "all instance types of a pool need the same GPU model and count, so the autoscaler can "
        "size a node before it exists; got [('A10G', 1), ('L4', 1)]"
    }


def test_same_gpu_in_larger_sizes_is_allowed():
    assert GpuNodePool.model_validate({**POOL, "instance_types": ["g6.xlarge", "g6.2xlarge"]}).gpus_per_node == 1


def test_unknown_pool_instance_type():
    errors = errors_of(GpuNodePool, {**POOL, "instance_types": ["g4dn.xlarge"]})
    assert errors[("instance_types",)].startswith("unknown GPU instance types ['g4dn.xlarge']; known: g5.12xlarge")


def test_pool_bounds():
    errors = errors_of(GpuNodePool, {**POOL, "min_size": 5})
    assert errors == {("min_size",): "min_size (5) must not exceed max_size (4)"}


def test_bottlerocket_warm_pools_cannot_reuse_instances():
    errors = errors_of(GpuNodePool, {**POOL, "ami": "bottlerocket_nvidia", "warm_pool": {"min_size": 1}})
    assert errors == {
        ("warm_pool", "reuse_on_scale_in"): "EKS warm pools cannot return Bottlerocket instances on scale-in; set it to false"
    }


def test_an_open_api_endpoint_is_refused():
    errors = errors_of(ClusterSpec, {"gpu_pools": [POOL], "public_access_cidrs": ["0.0.0.0/0"]})
    assert errors == {
        ("public_access_cidrs",): "0.0.0.0/0 would open the Kubernetes API to the internet; list the office or VPN ranges instead"
    }


def test_pool_names_are_unique():
    errors = errors_of(ClusterSpec, {"gpu_pools": [POOL, POOL]})
    assert errors == {("gpu_pools",): "GPU pool names must be unique; repeated: l4"}


def test_only_supported_kubernetes_versions():
    errors = errors_of(ClusterSpec, {"gpu_pools": [POOL], "kubernetes_version": "1.30"})
    assert errors == {("kubernetes_version",): "Input should be '1.34', '1.35' or '1.36'"}


def test_addon_versions_default_to_the_pins():
    from components.intent import versions

    spec = ClusterSpec.model_validate({"gpu_pools": [POOL]})
    assert spec.addon_versions.kserve == versions.CHARTS["kserve"].version == "v0.20.0"
    assert spec.addon_versions.keda == "2.20.2"


def test_a_role_is_either_admin_or_viewer():
    arn = "arn:aws:iam::111122223333:role/ci"
    errors = errors_of(ClusterSpec, {"gpu_pools": [POOL], "admin_role_arns": [arn], "viewer_role_arns": [arn]})
    assert errors == {("viewer_role_arns",): f"already cluster admins: {arn}"}


def test_the_deployer_is_not_listed_twice():
    arn = "arn:aws:iam::111122223333:role/ml-serving-deploy-dev"
    errors = errors_of(ClusterSpec, {"gpu_pools": [POOL], "admin_role_arns": [arn], "deployer_role_arn": arn})
    assert errors == {
        ("deployer_role_arn",): f"{arn} gets its access entry as the deployer; remove it from admin_role_arns "
        "and viewer_role_arns (EKS rejects a second entry for one principal)"
    }
