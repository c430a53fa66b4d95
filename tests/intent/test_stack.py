"""Rules that span the whole stack, checked through the loader so paths are the user's."""
import copy

import pytest

from tests.conftest import parse, problems_of, stack_config


def test_dev_stack_parses(dev_config):
    spec = parse(dev_config)
    assert spec.target == "eks" and spec.region == "us-east-1"
    assert [m.name for m in spec.models] == ["llama-8b", "sentiment"]


def test_required_cost_tags(dev_config):
    dev_config["ml-serving:tags"] = {"team": "ml"}
    assert problems_of(dev_config) == [
        "ml-serving:tags: missing required cost tags: cost-center (every resource is tagged for cost allocation)"
    ]


def test_eks_needs_a_cluster(dev_config):
    del dev_config["ml-serving:cluster"]
    assert problems_of(dev_config) == ["ml-serving:cluster: target eks needs a `cluster` section"]


def test_sagemaker_refuses_a_cluster_section(dev_config):
    dev_config["ml-serving:target"] = "sagemaker"
    problems = problems_of(dev_config)
    assert "ml-serving:cluster: the `cluster` section applies only to target eks" in problems


def test_weights_outside_the_model_bucket(dev_config):
    dev_config["ml-serving:models"][0]["source"] = "s3://someone-elses-bucket/llama/"
    assert problems_of(dev_config) == [
        "ml-serving:models[0].source: s3://someone-elses-bucket/llama/ is outside the model bucket "
        "acme-ml-serving-models-dev; model roles can read only that bucket, so upload the weights there"
    ]


def test_model_names_are_unique(dev_config):
    dev_config["ml-serving:models"][1]["name"] = "llama-8b"
    assert problems_of(dev_config) == ["ml-serving:models: model names must be unique; repeated: llama-8b"]


def test_model_instance_must_be_offered_by_a_pool(dev_config):
    dev_config["ml-serving:models"][0]["instance_type"] = "g6e.xlarge"
    assert problems_of(dev_config) == [
        "ml-serving:models[0].instance_type: no GPU pool offers g6e.xlarge; pools: l4 (g6.xlarge)"
    ]


def test_pool_must_hold_peak_demand(dev_config):
    dev_config["ml-serving:models"][0]["autoscaling"]["max_replicas"] = 3
    assert problems_of(dev_config) == [
        "ml-serving:cluster.gpu_pools[0].max_size: models on pool l4 may need 4 GPUs at peak (max replicas and canary) "
        "but max_size 3 x 1 GPU(s) gives 3"
    ]


def test_prod_rules():
    config = copy.deepcopy(stack_config("dev"))
    config["ml-serving:environment"] = "prod"
    assert problems_of(config) == [
        "ml-serving:alerting: prod must route critical alerts to a receiver (not reached for models: llama-8b, "
        "sentiment): add a route with `severity: critical` or a default_receiver",
        "ml-serving:network.availability_zones: prod spreads over at least 3 availability zones; got 2",
        "ml-serving:network.nat_gateways: prod needs one_per_az NAT gateways so one zone's outage does not cut egress",
        "ml-serving:models[0].autoscaling.scale_to_zero: prod models keep a warm replica; scale_to_zero is for dev and staging",
        "ml-serving:models[1].autoscaling.scale_to_zero: prod models keep a warm replica; scale_to_zero is for dev and staging",
    ]


def test_sagemaker_rules(dev_config):
    dev_config["ml-serving:target"] = "sagemaker"
    del dev_config["ml-serving:cluster"]
    llama = dev_config["ml-serving:models"][0]
    llama["canary"] = {
        "version": "v2",
        "source": "s3://acme-ml-serving-models-dev/llama-3.1-8b-instruct/v2/",
        "steps": [60, 80, 100],
        "traffic_percent": 60,
        "gates": [{"metric": "ttft_p99", "max_ratio_to_stable": 1.5}],
    }
    llama["autoscaling"].update(scale_to_zero=False, signal="queue_depth", target=4)
    del llama["autoscaling"]["idle_timeout_s"]
    assert problems_of(dev_config) == [
        "ml-serving:models[0].autoscaling.signal: SageMaker publishes no queue depth for real-time endpoints; use "
        "concurrency (ConcurrentRequestsPerModel, high resolution) or requests_per_second (InvocationsPerInstance)",
        "ml-serving:models[0].canary.steps: SageMaker shifts traffic in one canary step or in equal linear steps; "
        "[60, 80, 100] is neither (try [60, 100] or [25, 50, 75, 100])",
        "ml-serving:models[0].canary.steps: SageMaker canaries take at most 50 % of the fleet first; got 60 %",
        "ml-serving:models[0].autoscaling.min_replicas: a SageMaker canary is at most half of the new fleet's "
        "instances, so a model with a canary keeps at least 2 (min_replicas + warm_pool is 1)",
        "ml-serving:models[0].canary.gates[0].metric: SageMaker publishes no time-to-first-token metric; gate on "
        "latency_p99 (ModelLatency)",
        "ml-serving:models[0].canary.gates[0].max_value: SageMaker rollback alarms need an absolute max_value; "
        "max_ratio_to_stable is EKS-only",
        "ml-serving:models[1].autoscaling.signal: SageMaker publishes no queue depth for real-time endpoints; use "
        "concurrency (ConcurrentRequestsPerModel, high resolution) or requests_per_second (InvocationsPerInstance)",
        "ml-serving:models[1].autoscaling.scale_to_zero: SageMaker real-time endpoint variants keep at least one "
        "instance; scaling to zero needs inference components, which ml-serving does not deploy",
    ]


def test_sagemaker_gives_each_replica_the_whole_instance(dev_config):
    dev_config["ml-serving:target"] = "sagemaker"
    del dev_config["ml-serving:cluster"]
    dev_config["ml-serving:models"] = dev_config["ml-serving:models"][:1]
    model = dev_config["ml-serving:models"][0]
    model.update(instance_type="g6.12xlarge", gpus=1, autoscaling={"signal": "concurrency"})
    assert problems_of(dev_config) == [
        "ml-serving:models[0].gpus: a SageMaker variant gives each replica the whole instance: gpus must equal the "
        "4 GPU(s) of g6.12xlarge"
    ]


@pytest.mark.parametrize("steps, expected", [([10, 100], ("CANARY", 10)), ([25, 50, 75, 100], ("LINEAR", 25)), ([5, 25, 100], None)])
def test_sagemaker_traffic_shift_shapes(steps, expected):
    from components.intent.stack import sagemaker_traffic_shift

    assert sagemaker_traffic_shift(steps) == expected
