"""Regions, instance types and warm pools checked against AWS's own data (botocore), offline."""
import pytest

from components.intent.aws_data import ec2_instance_types, regions, sagemaker_instance_types
from components.intent.cluster import GpuNodePool, SystemNodeGroup
from components.intent.instances import catalog, sagemaker_instance
from components.intent.model import ModelSpec
from tests.conftest import problems_of
from tests.intent.helpers import VLLM, errors_of

POOL = {"name": "l4", "instance_types": ["g6.xlarge"], "max_size": 4}


def test_a_region_aws_does_not_have_fails_naming_the_closest_real_ones(dev_config):
    dev_config["aws:region"] = "eu-north-9"
    assert problems_of(dev_config) == [
        "aws:region: 'eu-north-9' is not an AWS region; closest: eu-north-1, eu-south-2, eu-south-1 (got 'eu-north-9')"
    ]


@pytest.mark.parametrize("region", ["us-east-1", "eu-north-1", "cn-north-1", "us-gov-west-1", "ap-southeast-7"])
def test_real_regions_of_every_partition_pass(dev_config, region):
    assert region in regions()


def test_pseudo_regions_are_not_regions():
    assert "aws-global" not in regions() and "us-east-1" in regions()


def test_an_unknown_system_instance_type_fails_with_suggestions():
    errors = errors_of(SystemNodeGroup, {"instance_types": ["m6i.larg"]})
    assert errors == {
        ("instance_types", 0): "'m6i.larg' is not an EC2 instance type (did you mean m6i.large or m6in.large or m6id.large?)"
    }


def test_a_made_up_gpu_pool_type_is_not_an_ec2_type():
    errors = errors_of(GpuNodePool, {**POOL, "instance_types": ["g6.xlarg", "g6.2xlarge"]})
    assert errors == {
        ("instance_types",): "'g6.xlarg' is not an EC2 instance type (did you mean g6.xlarge or g6f.xlarge or g6e.xlarge?)"
    }


def test_a_made_up_model_instance_type_is_not_an_ec2_type():
    errors = errors_of(ModelSpec, {**VLLM, "instance_type": "g7e.xlarge"})
    assert errors[("instance_type",)].startswith("'g7e.xlarge' is not an EC2 instance type (did you mean g6e.xlarge?); known: ")
    errors = errors_of(ModelSpec, {**VLLM, "instance_type": "g4dn.xlarge"})
    assert errors[("instance_type",)].startswith("unknown GPU instance type 'g4dn.xlarge' (did you mean g6.xlarge?); known: ")


def test_warm_pools_are_refused_on_spot_pools():
    errors = errors_of(GpuNodePool, {**POOL, "capacity_type": "spot", "warm_pool": {"min_size": 1}})
    assert errors == {
        ("warm_pool",): "EC2 Auto Scaling refuses a warm pool on a group that launches Spot Instances; use "
        "capacity_type on_demand for this pool or drop warm_pool"
    }


def test_warm_pools_are_refused_on_pools_of_several_instance_types():
    errors = errors_of(GpuNodePool, {**POOL, "instance_types": ["g6.xlarge", "g6.2xlarge"], "warm_pool": {"min_size": 1}})
    assert errors == {
        ("warm_pool",): "EC2 Auto Scaling refuses a warm pool on a group with a mixed instances policy, which 2 "
        "instance types need; give this pool one instance type or drop warm_pool"
    }


def test_a_warm_pool_on_one_on_demand_type_is_accepted():
    pool = GpuNodePool.model_validate({**POOL, "warm_pool": {"min_size": 1}})
    assert pool.warm_pool is not None and pool.warm_pool.min_size == 1


def test_every_catalog_instance_is_a_real_ec2_type_and_its_sagemaker_flag_matches_the_api():
    for name, itype in catalog().instances.items():
        assert name in ec2_instance_types(), name
        assert itype.sagemaker == (sagemaker_instance(name) in sagemaker_instance_types()), name
