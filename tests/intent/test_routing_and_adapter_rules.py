"""Stack-level rules for adapters and picker routing: where a target cannot serve them, and
adapter weights outside the model bucket."""
import copy

from tests.conftest import problems_of, stack_config

ADAPTER = {"name": "support", "base_model": "llama-3.1-8b", "rank": 16}


def test_sagemaker_refuses_adapters_and_the_picker_naming_why():
    config = copy.deepcopy(stack_config("sagemaker-prod"))
    llama = config["ml-serving:models"][0]
    bucket = config["ml-serving:storage"]["bucket"]
    llama["vllm"]["adapters"] = [{**ADAPTER, "source": f"s3://{bucket}/adapters/support/v1/"}]
    llama["routing"] = {"balancer": "endpoint_picker"}
    problems = problems_of(config)
    assert (
        "ml-serving:models[0].vllm.adapters: LoRA adapters need SageMaker inference components, which the "
        "pulumi-aws provider has no resource for; serve adapters on target eks (docs/decisions.md, LoRA adapters)"
    ) in problems
    assert any(p.startswith("ml-serving:models[0].routing.balancer: SageMaker routes requests") for p in problems)


def test_adapter_weights_must_be_in_the_model_bucket():
    config = copy.deepcopy(stack_config("staging"))
    llama = config["ml-serving:models"][0]
    llama["vllm"]["adapters"][0]["source"] = "s3://someone-elses-bucket/adapters/support/v3/"
    assert problems_of(config) == [
        "ml-serving:models[0].vllm.adapters[0].source: s3://someone-elses-bucket/adapters/support/v3/ is outside "
        "the model bucket acme-ml-serving-models-staging; model roles can read only that bucket, so upload the "
        "weights there"
    ]
