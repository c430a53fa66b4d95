"""What a SageMaker stack cannot ask for, each reported at its own path with the reason."""
import copy

import pytest

from tests.conftest import parse, problems_of, stack_config


@pytest.fixture
def prod():
    return copy.deepcopy(stack_config("sagemaker-prod"))


def _llama(config):
    return config["ml-serving:models"][0]


def test_sagemaker_stacks_parse():
    dev = parse(stack_config("sagemaker-dev"))
    prod = parse(stack_config("sagemaker-prod"))
    assert (dev.target, prod.target) == ("sagemaker", "sagemaker")
    assert prod.models[0].canary is not None and prod.models[0].canary.traffic_percent == 10
    assert prod.sagemaker is not None and prod.sagemaker.data_capture_percent == 10


def test_sagemaker_settings_default_in_the_model():
    settings = parse(stack_config("sagemaker-dev")).sagemaker
    assert settings is not None
    assert (settings.termination_wait_s, settings.data_capture_percent) == (0, 0)


def test_weights_come_from_s3_folders(prod):
    _llama(prod)["source"] = "hf://meta-llama/Llama-3.1-8B-Instruct"
    _llama(prod)["canary"]["source"] = "s3://acme-ml-serving-models-sagemaker-prod/llama-3.1-8b-instruct/v2"
    assert problems_of(prod) == [
        "ml-serving:models[0].source: SageMaker copies weights from S3 into /opt/ml/model before the container "
        "starts; upload hf://meta-llama/Llama-3.1-8B-Instruct to s3://acme-ml-serving-models-sagemaker-prod/<prefix>/ "
        "and use that",
        "ml-serving:models[0].canary.source: SageMaker copies an S3 prefix only when it ends with '/'; write "
        "s3://acme-ml-serving-models-sagemaker-prod/llama-3.1-8b-instruct/v2/",
    ]


def test_images_come_from_ecr_and_fit_the_runtime(prod):
    prod["ml-serving:images"] = {
        "vllm": {"prebuilt": "docker.io/vllm/vllm-openai@sha256:" + "a" * 64},
        "triton": {"sagemaker_image": {"framework": "djl-lmi"}},
    }
    assert problems_of(prod) == [
        "ml-serving:images.triton.sagemaker_image.framework: djl-lmi images do not serve triton models; use "
        "sagemaker-tritonserver",
        "ml-serving:images.vllm.prebuilt: SageMaker pulls model images from Amazon ECR only; push "
        "docker.io/vllm/vllm-openai@sha256:" + "a" * 64 + " to an ECR repository or use build",
    ]


def test_an_ecr_image_by_digest_is_accepted(prod):
    prod["ml-serving:images"] = {"vllm": {"prebuilt": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-serving/vllm@sha256:" + "b" * 64}}
    assert parse(prod).images.vllm.prebuilt.startswith("123456789012.dkr.ecr.")


def test_traffic_percent_is_zero_or_the_first_step(prod):
    _llama(prod)["canary"].update(steps=[50, 100], traffic_percent=100)
    assert problems_of(prod) == [
        "ml-serving:models[0].canary.traffic_percent: SageMaker walks the steps itself once a rollout starts: set "
        "traffic_percent to 50 to start it, or 0 to stay on (or go back to) v1; got 100"
    ]


def test_a_dark_canary_is_accepted(prod):
    _llama(prod)["canary"]["traffic_percent"] = 0
    assert parse(prod).models[0].canary.traffic_percent == 0


def test_a_canary_needs_two_instances(prod):
    _llama(prod)["autoscaling"].update(min_replicas=1, warm_pool=0)
    assert problems_of(prod) == [
        "ml-serving:models[0].autoscaling.min_replicas: a SageMaker canary is at most half of the new fleet's "
        "instances, so a model with a canary keeps at least 2 (min_replicas + warm_pool is 1)"
    ]


def test_bakes_fit_sagemaker_limits(prod):
    _llama(prod)["canary"]["step_interval_s"] = 7200
    assert problems_of(prod) == [
        "ml-serving:models[0].canary.step_interval_s: SageMaker bakes each traffic step for at most 3600 s "
        "(WaitIntervalInSeconds); got 7200"
    ]


def test_the_whole_rollout_fits_the_hour_pulumi_waits(prod):
    _llama(prod)["canary"]["step_interval_s"] = 1200
    assert problems_of(prod) == [
        "ml-serving:models[0].canary.step_interval_s: `pulumi up` waits 3600 s for an endpoint update; 2 bakes of "
        "1200 s plus termination_wait_s (600 s) leave under 900 s of it for the new fleet to start (bake for at most "
        "1050 s)"
    ]


def test_plain_updates_fit_the_hour_too(prod):
    prod["ml-serving:sagemaker"].update(bake_s=1800, termination_wait_s=0)
    assert problems_of(prod) == [
        "ml-serving:sagemaker.bake_s: `pulumi up` waits 3600 s for an endpoint update; 2 bakes of 1800 s plus "
        "termination_wait_s (0 s) leave under 900 s of it for the new fleet to start (bake for at most 1350 s)"
    ]


def test_gate_windows_are_whole_minutes_within_a_bake(prod):
    gates = _llama(prod)["canary"]["gates"]
    gates[0]["window_s"] = 90
    gates[1]["window_s"] = 1200
    assert problems_of(prod) == [
        "ml-serving:models[0].canary.gates[0].window_s: CloudWatch alarm periods are whole minutes; use a multiple "
        "of 60, not 90",
        "ml-serving:models[0].canary.gates[1].window_s: the gate's window (1200 s) is longer than each bake "
        "(step_interval_s 900 s): traffic would move on before the alarm could fire",
    ]


def test_scale_to_zero_is_rejected_with_the_reason():
    config = copy.deepcopy(stack_config("sagemaker-dev"))
    config["ml-serving:models"][1]["autoscaling"].update(scale_to_zero=True, idle_timeout_s=900)
    assert problems_of(config) == [
        "ml-serving:models[1].autoscaling.scale_to_zero: SageMaker real-time endpoint variants keep at least one "
        "instance; scaling to zero needs inference components, which ml-serving does not deploy"
    ]


def test_bake_covers_an_alarm_window():
    config = copy.deepcopy(stack_config("sagemaker-dev"))
    config["ml-serving:sagemaker"]["bake_s"] = 120
    assert problems_of(config) == ["ml-serving:sagemaker.bake_s: Input should be greater than or equal to 300 (got 120)"]


def test_experiments_and_shadows_are_eks_only_with_the_reason(prod):
    llama = _llama(prod)
    llama["experiment"] = {"name": "ab", "variants": [
        {"name": "b", "version": "v2", "match": {"kind": "header", "name": "X-Experiment-Group", "value": "B"}}]}
    llama["shadow"] = {"version": "v3", "source": "s3://acme-ml-serving-models-sagemaker-prod/llama-3.1-8b-instruct/v3/"}
    problems = problems_of(prod)
    assert len(problems) == 2
    assert problems[0].startswith("ml-serving:models[0].experiment: A/B experiments run on EKS only")
    assert "TargetVariant" in problems[0]
    assert problems[1].startswith("ml-serving:models[0].shadow: shadow traffic runs on EKS only")


def test_flagger_is_eks_only(prod):
    _llama(prod)["automated_rollout"] = True
    _llama(prod)["canary"]["traffic_percent"] = 0
    assert problems_of(prod) == [
        "ml-serving:models[0].automated_rollout: SageMaker walks a canary's steps and rolls back by itself; "
        "automated_rollout applies to EKS"
    ]


def test_a_quality_gate_becomes_a_rollback_alarm_on_a_metrics_insights_query(prod):
    from components.compilers.sagemaker import alarm_requests

    query = "SELECT MAX(ScoreDivergence) FROM SCHEMA(\"MlServing/Quality\", EndpointName) WHERE EndpointName = 'x'"
    _llama(prod)["canary"]["gates"].append({"metric": "quality", "expression": query, "max_value": 0.15, "window_s": 300})
    model = parse(prod).models[0]
    quality = [a for a in alarm_requests(model, "x") if a["AlarmName"].endswith("quality-0")]
    assert len(quality) == 1
    assert quality[0]["Metrics"] == [{"Id": "quality", "Expression": query, "Period": 300, "ReturnData": True,
                                      "Label": "quality gate 0"}]
    assert quality[0]["Threshold"] == 0.15 and quality[0]["TreatMissingData"] == "breaching"
