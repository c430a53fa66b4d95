"""The SageMaker compiler: how each AutoscalingPolicy and CanaryPolicy field maps, timeouts
sized to the model, names that change with content, and requests the real APIs accept."""
from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from components.compilers import sagemaker as sm
from components.intent.images import ImageSource
from components.intent.model import ModelSpec
from components.intent.stack import SageMakerSpec, StackSpec
from tests.conftest import parse, sagemaker_prod_llama, stack_config

ENDPOINT = "ml-serving-prod-llama-8b"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/vllm:0.30.0-gpu-py312-cu130-ubuntu24.04-sagemaker"
ROLE = "arn:aws:iam::123456789012:role/endpoint"
KEY = "arn:aws:kms:us-east-1:123456789012:key/k"
BUCKET = "acme-ml-serving-models-sagemaker-prod"


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def stack(name: str) -> StackSpec:
    return parse(stack_config(name))


def model(stack_name: str = "sagemaker-prod", index: int = 0, **changes: Any) -> ModelSpec:
    raw = copy.deepcopy(stack_config(stack_name)["ml-serving:models"][index])
    return ModelSpec.model_validate(_merge(raw, changes))


def llama(**changes: Any) -> ModelSpec:
    return ModelSpec.model_validate(_merge(sagemaker_prod_llama(), changes))


PROD = SageMakerSpec.model_validate(stack_config("sagemaker-prod")["ml-serving:sagemaker"])
DEFAULTS = SageMakerSpec()


def model_request(m: ModelSpec, kind: sm.ImageKind = "vllm") -> dict[str, Any]:
    return sm.model_request(m, endpoint=ENDPOINT, kind=kind, image=IMAGE, role_arn=ROLE,
                            subnet_ids=["subnet-a", "subnet-b"], security_group_ids=["sg-1"])


def config_request(m: ModelSpec, settings: SageMakerSpec = PROD) -> dict[str, Any]:
    return sm.endpoint_config_request(m, settings, endpoint=ENDPOINT, model_name=model_request(m)["ModelName"],
                                      bucket=BUCKET, key_arn=KEY, deployment=_deployment(m, settings))


@cache
def _service(name: str):
    return botocore.session.get_session().get_service_model(name)


def assert_valid(service: str, operation: str, params: dict[str, Any]) -> None:
    """The request is one the real API takes: names, types, required members, lengths."""
    report = ParamValidator().validate(params, _service(service).operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


def enum(service: str, shape: str) -> list[str]:
    return _service(service).shape_for(shape).enum


# --- requests the real APIs accept -------------------------------------------------------------


@pytest.mark.parametrize("stack_name", ["sagemaker-dev", "sagemaker-prod"])
def test_every_request_of_the_sagemaker_stacks_fits_the_api(stack_name):
    spec = stack(stack_name)
    settings = spec.sagemaker or SageMakerSpec()
    for m in spec.models:
        endpoint = f"ml-serving-{spec.environment}-{m.name}"
        kind = sm.image_kind(getattr(spec.images, m.runtime))
        created = sm.model_request(m, endpoint=endpoint, kind=kind, image=IMAGE, role_arn=ROLE,
                                   subnet_ids=["subnet-a"], security_group_ids=["sg-1"])
        assert_valid("sagemaker", "CreateModel", created)
        alarms = sm.alarm_requests(m, endpoint)
        deployment = sm.deployment_config(m, settings, [a["AlarmName"] for a in alarms])
        config = sm.endpoint_config_request(m, settings, endpoint=endpoint, model_name=created["ModelName"],
                                            bucket=spec.storage.bucket, key_arn=KEY, deployment=deployment)
        assert_valid("sagemaker", "CreateEndpointConfig", config)
        endpoint_request = sm.endpoint_request(m, endpoint=endpoint, config_name=config["EndpointConfigName"],
                                               deployment=deployment)
        assert_valid("sagemaker", "CreateEndpoint", endpoint_request)
        assert_valid("sagemaker", "UpdateEndpoint", {k: v for k, v in endpoint_request.items() if k != "Tags"})
        for alarm in alarms:
            assert_valid("cloudwatch", "PutMetricAlarm", alarm)
        scaling = sm.scaling_requests(m, endpoint)
        if scaling:
            assert_valid("application-autoscaling", "RegisterScalableTarget", scaling[0])
            assert_valid("application-autoscaling", "PutScalingPolicy", scaling[1])
            assert scaling[1]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
                "PredefinedMetricType"] in enum("application-autoscaling", "MetricType")
            assert scaling[0]["ScalableDimension"] in enum("application-autoscaling", "ScalableDimension")
        variant = config["ProductionVariants"][0]
        assert variant["InstanceType"] in enum("sagemaker", "ProductionVariantInstanceType")
        assert variant["RoutingConfig"]["RoutingStrategy"] in enum("sagemaker", "RoutingStrategy")
        routing = endpoint_request["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
        assert routing["Type"] in enum("sagemaker", "TrafficRoutingConfigType")
        for size in ("CanarySize", "LinearStepSize"):
            if size in routing:
                assert routing[size]["Type"] in enum("sagemaker", "CapacitySizeType")


def test_routing_choices_are_sagemaker_strategies():
    assert set(sm.ROUTING.values()) <= set(enum("sagemaker", "RoutingStrategy"))
    assert set(sm.SCALING_METRICS.values()) <= set(enum("application-autoscaling", "MetricType"))


# --- the model -------------------------------------------------------------------------------


def test_the_model_serves_the_candidate_once_its_rollout_starts():
    request = model_request(llama())
    source = request["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]
    assert source == {"S3Uri": f"s3://{BUCKET}/llama-3.1-8b-instruct/v2/", "S3DataType": "S3Prefix", "CompressionType": "None"}
    assert request["ModelName"].startswith(f"{ENDPOINT}-v2-")
    assert request["EnableNetworkIsolation"] is True
    assert request["VpcConfig"] == {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-a", "subnet-b"]}
    assert {"Key": "ml-serving:version", "Value": "v2"} in request["Tags"]


def test_a_dark_or_rolled_back_canary_serves_the_stable_version():
    request = model_request(llama(canary={"traffic_percent": 0}))
    assert request["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]["S3Uri"].endswith("/v1/")
    assert request["ModelName"].startswith(f"{ENDPOINT}-v1-")


def test_names_follow_content():
    rolling = llama()
    changed = llama(vllm={"max_num_seqs": 32})
    assert model_request(changed)["ModelName"] != model_request(rolling)["ModelName"]
    assert config_request(changed)["EndpointConfigName"] != config_request(rolling)["EndpointConfigName"]
    assert model_request(llama())["ModelName"] == model_request(rolling)["ModelName"]
    assert config_request(llama())["EndpointConfigName"] == config_request(rolling)["EndpointConfigName"]
    # A new image digest is a new model, which the same label must not hide.
    other_image = sm.model_request(rolling, endpoint=ENDPOINT, kind="vllm", image=IMAGE + "-v2", role_arn=ROLE,
                                   subnet_ids=["subnet-a", "subnet-b"], security_group_ids=["sg-1"])
    assert other_image["ModelName"] != model_request(rolling)["ModelName"]


def test_a_new_deployment_policy_comes_with_a_new_configuration():
    # The provider calls UpdateEndpoint when the policy changes; it must never redeploy the
    # configuration in service, so the policy is part of the configuration's name.
    slower = SageMakerSpec.model_validate({**PROD.model_dump(), "bake_s": 1200})
    stable = llama(canary=None)
    assert config_request(stable, slower)["EndpointConfigName"] != config_request(stable)["EndpointConfigName"]
    assert config_request(stable, slower)["ProductionVariants"] == config_request(stable)["ProductionVariants"]


def test_promotion_keeps_the_model_and_replaces_only_the_policy():
    rolling = llama()
    promoted = llama(version="v2", source=f"s3://{BUCKET}/llama-3.1-8b-instruct/v2/", canary=None)
    assert model_request(promoted) == model_request(rolling)
    assert config_request(promoted)["ProductionVariants"] == config_request(rolling)["ProductionVariants"]
    assert config_request(promoted)["EndpointConfigName"] != config_request(rolling)["EndpointConfigName"]


def test_names_fit_sagemaker_limits():
    long = "m" * 36
    endpoint = sm.endpoint_name("ml-serving-a-rather-long-stack-name", llama(name=long))
    assert len(endpoint) == 63 and endpoint.endswith(f"-{long}")
    assert sm.endpoint_name("ml-serving-sagemaker-prod", llama()) == "ml-serving-sagemaker-prod-llama-8b"
    request = sm.model_request(llama(name=long), endpoint=endpoint, kind="vllm", image=IMAGE,
                               role_arn=ROLE, subnet_ids=["s"], security_group_ids=["sg"])
    assert len(request["ModelName"]) <= 63 and not request["ModelName"].endswith("--")
    assert_valid("sagemaker", "CreateModel", request)


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("vllm", {"SM_VLLM_MODEL": "/opt/ml/model", "SM_VLLM_SERVED_MODEL_NAME": "llama-8b", "SM_VLLM_MAX_MODEL_LEN": "16384",
                  "SM_VLLM_GPU_MEMORY_UTILIZATION": "0.9", "SM_VLLM_DTYPE": "bfloat16", "SM_VLLM_MAX_NUM_SEQS": "64",
                  "SM_VLLM_TENSOR_PARALLEL_SIZE": "1", "HF_HUB_OFFLINE": "1"}),
        ("ml-serving", {"SM_MODEL_NAME": "llama-8b", "SM_VLLM_MAX_MODEL_LEN": "16384", "SM_VLLM_GPU_MEMORY_UTILIZATION": "0.9",
                        "SM_VLLM_DTYPE": "bfloat16", "SM_VLLM_MAX_NUM_SEQS": "64", "SM_VLLM_TENSOR_PARALLEL_SIZE": "1",
                        "HF_HUB_OFFLINE": "1"}),
        ("djl-lmi", {"HF_MODEL_ID": "/opt/ml/model", "OPTION_ROLLING_BATCH": "vllm", "OPTION_TENSOR_PARALLEL_DEGREE": "1",
                     "OPTION_MAX_MODEL_LEN": "16384", "OPTION_MAX_ROLLING_BATCH_SIZE": "64",
                     "OPTION_GPU_MEMORY_UTILIZATION": "0.9", "OPTION_DTYPE": "bf16", "OPTION_MODEL_LOADING_TIMEOUT": "360"}),
    ],
)
def test_engine_settings_reach_each_image_in_its_own_variables(kind, expected):
    m = llama()
    assert sm.container_environment(m, kind, sm.timeouts(m)) == expected


def test_quantization_and_kv_cache_settings_are_passed_on():
    # bfloat16 (the default dtype): vLLM's plain AWQ kernel is fp16-only, so the marlin one is named.
    m = llama(vllm={"quantization": "awq", "kv_cache_dtype": "fp8"})
    env = sm.container_environment(m, "vllm", sm.timeouts(m))
    assert (env["SM_VLLM_QUANTIZATION"], env["SM_VLLM_DTYPE"], env["SM_VLLM_KV_CACHE_DTYPE"]) == (
        "awq_marlin", "bfloat16", "fp8")
    lmi = sm.container_environment(m, "djl-lmi", sm.timeouts(m))
    assert (lmi["OPTION_QUANTIZE"], lmi["OPTION_DTYPE"], lmi["OPTION_KV_CACHE_DTYPE"]) == ("awq_marlin", "bf16", "fp8")
    fp16 = llama(vllm={"quantization": "gptq", "dtype": "float16"})
    assert sm.container_environment(fp16, "vllm", sm.timeouts(fp16))["SM_VLLM_QUANTIZATION"] == "gptq"


def test_triton_loads_its_model_from_the_repository_root():
    sentiment = model("sagemaker-prod", 1)
    env = sm.container_environment(sentiment, "sagemaker-tritonserver", sm.timeouts(sentiment))
    assert env == {"SAGEMAKER_TRITON_DEFAULT_MODEL_NAME": "sentiment", "ML_SERVING_TRITON_CONFIG": env["ML_SERVING_TRITON_CONFIG"]}
    assert len(env["ML_SERVING_TRITON_CONFIG"]) == 12


def test_a_triton_config_change_rolls_the_endpoint():
    sentiment = model("sagemaker-prod", 1)
    bigger = model("sagemaker-prod", 1, triton={"max_batch_size": 128})

    def name(m):
        return sm.model_request(m, endpoint="ml-serving-x-sentiment", kind="sagemaker-tritonserver", image=IMAGE,
                                role_arn=ROLE, subnet_ids=["s"], security_group_ids=["sg"])["ModelName"]

    assert name(sentiment) != name(bigger), "a new config.pbtxt means a new model, deployed blue/green"


def test_image_kind_follows_the_image_source():
    assert sm.image_kind(ImageSource.model_validate({"build": {}})) == "ml-serving"
    assert sm.image_kind(ImageSource.model_validate({"sagemaker_image": {"framework": "djl-lmi"}})) == "djl-lmi"


# --- timeouts sized to the model -------------------------------------------------------------


def test_timeouts_grow_with_the_weights():
    small = sm.timeouts(model("sagemaker-prod", 1))  # a 900 MiB Triton classifier
    eight = sm.timeouts(llama())  # about 15 GiB of bf16 weights
    seventy = sm.timeouts(llama(instance_type="p4de.24xlarge", gpus=8, vllm={"architecture": "llama-3.1-70b"}))
    assert small == sm.Timeouts(download_s=300, startup_s=360)
    assert eight == sm.Timeouts(download_s=300, startup_s=360)
    assert seventy == sm.Timeouts(download_s=1800, startup_s=840)
    quantized = sm.timeouts(llama(instance_type="p4de.24xlarge", gpus=8,
                                  vllm={"architecture": "llama-3.1-70b", "quantization": "awq"}))
    assert quantized.download_s < seventy.download_s


def test_timeouts_stay_within_the_api_range():
    huge = llama(instance_type="p5en.48xlarge", gpus=8, vllm={"architecture": "qwen2.5-72b", "max_model_len": 8192})
    limits = sm.timeouts(huge)
    assert 300 <= limits.download_s <= 3600 and 300 <= limits.startup_s <= 3600


def test_the_variant_carries_type_count_timeouts_and_routing():
    variant = config_request(llama())["ProductionVariants"][0]
    assert variant == {
        "VariantName": "primary",
        "ModelName": model_request(llama())["ModelName"],
        "InstanceType": "ml.g6e.xlarge",
        "InitialInstanceCount": 3,  # min_replicas 2 + warm_pool 1
        "InitialVariantWeight": 1.0,
        "ModelDataDownloadTimeoutInSeconds": 300,
        "ContainerStartupHealthCheckTimeoutInSeconds": 360,
        "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
    }
    random = config_request(llama(), SageMakerSpec(routing="random"))["ProductionVariants"][0]
    assert random["RoutingConfig"] == {"RoutingStrategy": "RANDOM"}


def test_data_capture_goes_to_the_model_bucket_encrypted():
    capture = config_request(llama())["DataCaptureConfig"]
    assert capture == {
        "EnableCapture": True,
        "InitialSamplingPercentage": 10,
        "DestinationS3Uri": f"s3://{BUCKET}/data-capture/llama-8b/",
        "KmsKeyId": KEY,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
    }
    assert "DataCaptureConfig" not in config_request(llama(), DEFAULTS)


def test_instance_store_volumes_get_no_kms_key():
    # CreateEndpointConfig fails with a KmsKeyId on instance types with local NVMe storage.
    assert "KmsKeyId" not in config_request(llama())
    assert not sm.volume_key_allowed("g6e.xlarge") and sm.volume_key_allowed("m5.xlarge")


# --- CanaryPolicy ----------------------------------------------------------------------------


def _deployment(m: ModelSpec, settings: SageMakerSpec = PROD) -> dict[str, Any]:
    names = [a["AlarmName"] for a in sm.alarm_requests(m, ENDPOINT)]
    return sm.deployment_config(m, settings, names)


def test_a_two_step_canary_is_a_canary_shift():
    policy = _deployment(llama())["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "CANARY", "WaitIntervalInSeconds": 900, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}
    }
    assert policy["TerminationWaitInSeconds"] == 600
    # 900 s to place instances, 300 s download, 360 s start, two bakes of 900 s and 600 s of
    # termination wait come to 3960 s: capped at the hour `pulumi up` waits.
    assert policy["MaximumExecutionTimeoutInSeconds"] == 3600


def test_equal_steps_are_a_linear_shift():
    m = llama(canary={"steps": [25, 50, 75, 100], "traffic_percent": 25, "step_interval_s": 600})
    routing = _deployment(m)["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {"Type": "LINEAR", "WaitIntervalInSeconds": 600, "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25}}
    assert _deployment(m)["BlueGreenUpdatePolicy"]["MaximumExecutionTimeoutInSeconds"] == 3600


def test_updates_without_a_canary_start_on_one_instance():
    routing = _deployment(llama(canary=None))["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {"Type": "CANARY", "WaitIntervalInSeconds": 900, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}


def test_a_single_instance_fleet_updates_all_at_once():
    dev = model("sagemaker-dev", 0)
    routing = _deployment(dev, stack("sagemaker-dev").sagemaker)["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300}


def test_the_deployment_timeout_adds_up_start_and_bakes():
    dev = model("sagemaker-dev", 0)
    # 900 s to place the instance, 300 s download, 360 s start, one bake of 300 s.
    assert sm.deployment_timeout_s(dev, SageMakerSpec(bake_s=300)) == 900 + 300 + 360 + 300
    huge = llama(instance_type="p5en.48xlarge", gpus=8, vllm={"architecture": "qwen2.5-72b", "max_model_len": 8192})
    assert sm.deployment_timeout_s(huge, PROD) == 3600


def test_gates_become_rollback_alarms_while_the_canary_rolls_out():
    alarms = {a["AlarmName"]: a for a in sm.alarm_requests(llama(), ENDPOINT)}
    errors, latency = alarms[f"{ENDPOINT}-error-rate"], alarms[f"{ENDPOINT}-latency-p99"]
    assert errors["Threshold"] == 0.01
    assert [q["Id"] for q in errors["Metrics"]] == ["errors", "invocations", "error_rate"]
    assert errors["Metrics"][0]["MetricStat"]["Metric"] == {
        "Namespace": "AWS/SageMaker", "MetricName": "Invocation5XXErrors",
        "Dimensions": [{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": "primary"}],
    }
    assert errors["Metrics"][0]["MetricStat"]["Period"] == 300  # the gate's window_s
    assert errors["Metrics"][2]["Expression"] == "IF(invocations > 0, errors / invocations, 0)"
    assert (latency["MetricName"], latency["ExtendedStatistic"], latency["Period"]) == ("ModelLatency", "p99", 600)
    assert latency["Threshold"] == 20_000_000  # 20,000 ms in ModelLatency's microseconds
    assert latency["Dimensions"] == errors["Metrics"][0]["MetricStat"]["Metric"]["Dimensions"]
    assert all(a["TreatMissingData"] == "notBreaching" and a["ComparisonOperator"] == "GreaterThanThreshold"
               for a in alarms.values())
    rollback = _deployment(llama())["AutoRollbackConfiguration"]
    assert rollback == {"Alarms": [{"AlarmName": f"{ENDPOINT}-error-rate"}, {"AlarmName": f"{ENDPOINT}-latency-p99"}]}


def test_without_a_rollout_the_slo_sets_the_alarms():
    alarms = {a["AlarmName"]: a for a in sm.alarm_requests(llama(canary={"traffic_percent": 0}), ENDPOINT)}
    assert alarms[f"{ENDPOINT}-error-rate"]["Threshold"] == 0.01  # slo.error_rate
    assert alarms[f"{ENDPOINT}-latency-p99"]["Threshold"] == 20_000_000  # slo.latency_p99_ms
    assert alarms[f"{ENDPOINT}-latency-p99"]["Period"] == sm.SLO_WINDOW_S
    no_latency = llama(canary=None, slo={"latency_p99_ms": None})
    assert [a["AlarmName"] for a in sm.alarm_requests(no_latency, ENDPOINT)] == [f"{ENDPOINT}-error-rate"]


def test_a_gate_overrides_only_its_own_metric():
    m = llama(canary={"gates": [{"metric": "error_rate", "max_value": 0.05, "window_s": 600}]})
    alarms = {a["AlarmName"]: a for a in sm.alarm_requests(m, ENDPOINT)}
    # The alarm sees both fleets: 10 % of requests at the gate's 5 %, 90 % at the SLO's 1 %.
    assert m.canary.steps[0] == 10 and m.slo.error_rate == 0.01
    assert alarms[f"{ENDPOINT}-error-rate"]["Threshold"] == 0.014  # 0.1 x 0.05 + 0.9 x 0.01
    assert alarms[f"{ENDPOINT}-latency-p99"]["Threshold"] == 20_000_000  # still the SLO


def test_blended_error_threshold():
    assert sm.blended_error_threshold(0.05, 0.01, 100) == 0.05
    assert sm.blended_error_threshold(0.02, 0.005, 50) == 0.0125


def test_rollback_on_breach_false_keeps_alarms_but_not_the_rollback():
    m = llama(canary={"rollback_on_breach": False})
    assert "AutoRollbackConfiguration" not in _deployment(m)
    assert sm.alarm_requests(m, ENDPOINT)


# --- AutoscalingPolicy -----------------------------------------------------------------------


def test_concurrency_tracks_high_resolution_requests_per_model():
    target, policy = sm.scaling_requests(llama(), ENDPOINT)
    assert target == {
        "ServiceNamespace": "sagemaker",
        "ResourceId": f"endpoint/{ENDPOINT}/variant/primary",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "MinCapacity": 3,  # min_replicas 2 + warm_pool 1
        "MaxCapacity": 6,  # max_replicas
    }
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["TargetTrackingScalingPolicyConfiguration"] == {
        "TargetValue": 24.0,  # target
        "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"},
        "ScaleOutCooldown": 60,  # scale_up_window_s
        "ScaleInCooldown": 900,  # scale_down_window_s
    }


def test_requests_per_second_tracks_invocations_per_instance_per_minute():
    sentiment = model("sagemaker-prod", 1)
    _, policy = sm.scaling_requests(sentiment, "ml-serving-prod-sentiment")
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert config["PredefinedMetricSpecification"] == {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}
    assert config["TargetValue"] == 200 * 60


def test_a_fixed_size_model_gets_no_autoscaling():
    assert sm.scaling_requests(model("sagemaker-dev", 1), "ml-serving-dev-sentiment") is None
    warm_fills_the_range = llama(canary=None, autoscaling={"min_replicas": 2, "warm_pool": 1, "max_replicas": 3})
    assert sm.scaling_requests(warm_fills_the_range, ENDPOINT) is None


# --- IAM -------------------------------------------------------------------------------------


def _policy(m: ModelSpec, settings: SageMakerSpec = PROD, image: str = IMAGE) -> dict[str, Any]:
    return sm.execution_policy(
        m, settings, partition="aws", region="us-east-1", account_id="123456789012",
        bucket_arn=f"arn:aws:s3:::{BUCKET}", key_arn=KEY, image=image, endpoint=ENDPOINT,
        subnet_ids=["subnet-a", "subnet-b"], security_group_id="sg-1",
    )


def test_the_execution_role_reads_only_this_models_weights():
    statements = {s["Sid"]: s for s in _policy(llama())["Statement"]}
    assert statements["ReadModelObjects"]["Resource"] == [
        f"arn:aws:s3:::{BUCKET}/llama-3.1-8b-instruct/v1/*", f"arn:aws:s3:::{BUCKET}/llama-3.1-8b-instruct/v2/*"
    ]
    assert statements["PullModelImage"]["Resource"] == "arn:aws:ecr:us-east-1:763104351884:repository/vllm"
    assert statements["WriteEndpointLogs"]["Resource"] == [
        f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/{ENDPOINT}",
        f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/{ENDPOINT}:*",
    ]
    assert statements["WriteCapturedData"]["Resource"] == f"arn:aws:s3:::{BUCKET}/data-capture/llama-8b/*"
    assert "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-a" in statements["AttachToPrivateSubnets"]["Resource"]


def test_the_execution_role_has_no_wildcards_beyond_unscoped_apis():
    unscoped = {"ecr:GetAuthorizationToken", "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"}
    for statement in _policy(llama())["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), statement
        if statement["Resource"] == "*":
            assert set(actions) <= unscoped, statement
    assert "FullAccess" not in json.dumps(_policy(llama()))


def test_capture_permissions_only_with_data_capture():
    sids = {s["Sid"] for s in _policy(llama(), DEFAULTS)["Statement"]}
    assert not sids & {"WriteCapturedData", "EncryptCapturedData"}


def test_images_outside_ecr_get_no_pull_grant():
    sids = {s["Sid"] for s in _policy(llama(), image="registry.example.com/vllm@sha256:" + "a" * 64)["Statement"]}
    assert "PullModelImage" not in sids


def test_sagemaker_assumes_the_role_for_this_account_only():
    trust = sm.execution_trust("123456789012")["Statement"][0]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_ecr_repository_arns_from_references():
    assert sm.ecr_repository_arn("123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml-serving/vllm@sha256:" + "a" * 64, "aws") == (
        "arn:aws:ecr:eu-west-1:123456789012:repository/ml-serving/vllm"
    )
    assert sm.ecr_repository_arn("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/ml-serving/vllm:v1", "aws-cn") == (
        "arn:aws-cn:ecr:cn-north-1:123456789012:repository/ml-serving/vllm"
    )
    assert sm.ecr_repository_arn("docker.io/vllm/vllm-openai:v1", "aws") is None


# --- pulumi_aws arguments --------------------------------------------------------------------


def test_adapters_use_the_providers_names():
    m = llama()
    model_args = sm.pulumi_model_args(model_request(m))
    assert model_args["primary_container"]["model_data_source"] == {
        "s3_data_sources": [{"s3_uri": f"s3://{BUCKET}/llama-3.1-8b-instruct/v2/", "s3_data_type": "S3Prefix",
                             "compression_type": "None"}]
    }
    assert model_args["primary_container"]["environment"]["SM_VLLM_MAX_MODEL_LEN"] == "16384"
    assert model_args["tags"] == {"ml-serving:model": "llama-8b", "ml-serving:version": "v2"}
    config_args = sm.pulumi_endpoint_config_args({**config_request(m), "KmsKeyId": KEY})
    assert config_args["production_variants"][0]["routing_configs"] == [{"routing_strategy": "LEAST_OUTSTANDING_REQUESTS"}]
    assert config_args["production_variants"][0]["container_startup_health_check_timeout_in_seconds"] == 360
    assert config_args["data_capture_config"]["destination_s3_uri"] == f"s3://{BUCKET}/data-capture/llama-8b/"
    assert config_args["kms_key_arn"] == KEY
    latency = sm.pulumi_alarm_args(sm.alarm_requests(m, ENDPOINT)[1])
    assert latency["dimensions"] == {"EndpointName": ENDPOINT, "VariantName": "primary"}
    assert latency["extended_statistic"] == "p99"
    errors = sm.pulumi_alarm_args(sm.alarm_requests(m, ENDPOINT)[0])
    assert errors["metric_queries"][0]["metric"]["metric_name"] == "Invocation5XXErrors"
    assert errors["metric_queries"][2] == {"id": "error_rate", "expression": "IF(invocations > 0, errors / invocations, 0)",
                                           "label": "5XX share of invocations", "return_data": True}
