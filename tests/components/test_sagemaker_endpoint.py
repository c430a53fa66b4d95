"""SageMakerEndpoint under the recording mocks: types, names, inputs, parents, options."""
from __future__ import annotations

import copy
import json
from typing import Any

import pulumi
import pytest

from components.intent.images import ImageSource
from components.intent.model import ModelSpec
from components.intent.stack import SageMakerSpec
from components.preview.engine import Recording, run_under_mocks
from components.sagemaker_endpoint import SageMakerEndpoint, SageMakerEndpointArgs
from tests.conftest import sagemaker_prod_llama, stack_config

KEY = "arn:aws:kms:us-east-1:123456789012:key/k"
BUCKET = "acme-ml-serving-models-sagemaker-prod"
ECR_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-serving/vllm@sha256:" + "c" * 64
COMPONENT = "ml-serving:sagemaker_endpoint:SageMakerEndpoint"


def _model(index: int = 0, **changes: Any) -> ModelSpec:
    raw = sagemaker_prod_llama() if index == 0 else copy.deepcopy(stack_config("sagemaker-prod")["ml-serving:models"][index])
    raw.update(changes)
    return ModelSpec.model_validate(raw)


def _settings() -> SageMakerSpec:
    return SageMakerSpec.model_validate(stack_config("sagemaker-prod")["ml-serving:sagemaker"])


def _run(model: ModelSpec, image: dict[str, Any] | None = None, refs: dict[str, str] | None = None,
         settings: SageMakerSpec | None = None) -> Recording:
    source = ImageSource.model_validate(image or {"prebuilt": ECR_IMAGE})
    return run_under_mocks(
        lambda: SageMakerEndpoint(
            "ep",
            SageMakerEndpointArgs(
                model=model,
                settings=settings or _settings(),
                prefix="ml-serving-prod",
                region="us-east-1",
                image_source=source,
                vpc_id="vpc-1",
                subnet_ids=["subnet-a", "subnet-b", "subnet-c"],
                bucket_name=BUCKET,
                bucket_arn=f"arn:aws:s3:::{BUCKET}",
                key_arn=KEY,
                image_refs=refs or {},
            ),
        ),
        stack="sagemaker-prod",
    )


@pytest.fixture(scope="module")
def llama() -> Recording:
    return _run(_model(0))


def test_every_resource_is_a_child_of_the_component(llama):
    component = llama.get(COMPONENT, "ep")
    children = [r for r in llama.resources if r is not component]
    assert {(r.type, r.name) for r in children} == {
        ("aws:cloudwatch/logGroup:LogGroup", "ep-logs"),
        ("aws:ec2/securityGroup:SecurityGroup", "ep-sg"),
        ("aws:iam/role:Role", "ep-role"),
        ("aws:iam/rolePolicy:RolePolicy", "ep-role"),
        ("aws:sagemaker/model:Model", "ep-model"),
        ("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "ep-config"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "ep-alarm-error-rate"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "ep-alarm-latency-p99"),
        ("aws:sagemaker/endpoint:Endpoint", "ep-endpoint"),
        ("aws:appautoscaling/target:Target", "ep-scaling"),
        ("aws:appautoscaling/policy:Policy", "ep-scaling"),
    }
    assert all(r.parent == component.urn for r in children)
    # Endpoints hold no data: nothing is protected or retained.
    assert not any(r.protect or r.retain_on_delete for r in llama.resources)


def test_the_model_runs_the_image_with_the_role_in_the_private_subnets(llama):
    model = llama.get("aws:sagemaker/model:Model", "ep-model").inputs
    role = llama.get("aws:iam/role:Role", "ep-role")
    assert model["name"].startswith("ml-serving-prod-llama-8b-v2-")
    assert model["primaryContainer"]["image"] == ECR_IMAGE
    assert model["primaryContainer"]["environment"]["SM_MODEL_NAME"] == "llama-8b"  # our image's variables
    assert model["primaryContainer"]["modelDataSource"]["s3DataSources"][0]["s3Uri"] == (
        f"s3://{BUCKET}/llama-3.1-8b-instruct/v2/"
    )
    assert ":role/ep-role-" in model["executionRoleArn"]
    assert model["vpcConfig"]["subnets"] == ["subnet-a", "subnet-b", "subnet-c"]
    assert model["enableNetworkIsolation"] is True
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}


def test_the_model_waits_for_its_permissions_and_log_group(llama):
    model = llama.get("aws:sagemaker/model:Model", "ep-model")
    policy = llama.get("aws:iam/rolePolicy:RolePolicy", "ep-role")
    logs = llama.get("aws:cloudwatch/logGroup:LogGroup", "ep-logs")
    assert {policy.urn, logs.urn} <= set(model.depends_on)


def test_the_role_policy_is_least_privilege(llama):
    policy = json.loads(llama.get("aws:iam/rolePolicy:RolePolicy", "ep-role").inputs["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["PullModelImage"]["Resource"] == "arn:aws:ecr:us-east-1:123456789012:repository/ml-serving/vllm"
    assert statements["WriteCapturedData"]["Resource"] == f"arn:aws:s3:::{BUCKET}/data-capture/llama-8b/*"
    sg = llama.get("aws:ec2/securityGroup:SecurityGroup", "ep-sg")
    assert sg.inputs["vpcId"] == "vpc-1" and "ingress" not in sg.inputs


def test_logs_are_encrypted_and_expire(llama):
    logs = llama.get("aws:cloudwatch/logGroup:LogGroup", "ep-logs").inputs
    assert logs == {"name": "/aws/sagemaker/Endpoints/ml-serving-prod-llama-8b", "retentionInDays": 90, "kmsKeyId": KEY}


def test_the_configuration_names_the_model_and_is_named_by_content(llama):
    config = llama.get("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "ep-config").inputs
    model = llama.get("aws:sagemaker/model:Model", "ep-model").inputs
    variant = config["productionVariants"][0]
    assert variant["modelName"] == model["name"]
    assert (variant["variantName"], variant["instanceType"], variant["initialInstanceCount"]) == ("primary", "ml.g6e.xlarge", 3)
    assert (variant["modelDataDownloadTimeoutInSeconds"], variant["containerStartupHealthCheckTimeoutInSeconds"]) == (300, 360)
    assert variant["routingConfigs"] == [{"routingStrategy": "LEAST_OUTSTANDING_REQUESTS"}]
    assert config["dataCaptureConfig"]["initialSamplingPercentage"] == 10
    assert config["name"].startswith("ml-serving-prod-llama-8b-") and len(config["name"]) == len("ml-serving-prod-llama-8b-") + 8
    assert "kmsKeyArn" not in config  # g6e has instance storage


def test_the_endpoint_rolls_out_blue_green_with_alarm_rollback(llama):
    endpoint = llama.get("aws:sagemaker/endpoint:Endpoint", "ep-endpoint")
    config = llama.get("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "ep-config").inputs
    assert endpoint.inputs["name"] == "ml-serving-prod-llama-8b"
    assert endpoint.inputs["endpointConfigName"] == config["name"]
    deployment = endpoint.inputs["deploymentConfig"]
    assert deployment["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"] == {
        "type": "CANARY", "waitIntervalInSeconds": 900, "canarySize": {"type": "CAPACITY_PERCENT", "value": 10}
    }
    alarms = [llama.get("aws:cloudwatch/metricAlarm:MetricAlarm", f"ep-alarm-{m}") for m in ("error-rate", "latency-p99")]
    assert deployment["autoRollbackConfiguration"]["alarms"] == [{"alarmName": a.inputs["name"]} for a in alarms]
    assert {a.urn for a in alarms} <= set(endpoint.depends_on)
    assert endpoint.ignore_changes == []


def test_alarms_watch_the_endpoints_variant(llama):
    latency = llama.get("aws:cloudwatch/metricAlarm:MetricAlarm", "ep-alarm-latency-p99").inputs
    assert latency["dimensions"] == {"EndpointName": "ml-serving-prod-llama-8b", "VariantName": "primary"}
    assert (latency["metricName"], latency["extendedStatistic"], latency["threshold"]) == ("ModelLatency", "p99", 20_000_000)
    errors = llama.get("aws:cloudwatch/metricAlarm:MetricAlarm", "ep-alarm-error-rate").inputs
    assert errors["metricQueries"][2]["expression"] == "IF(invocations > 0, errors / invocations, 0)"
    assert errors["threshold"] == 0.01


def test_autoscaling_targets_the_variant_after_the_endpoint_exists(llama):
    target = llama.get("aws:appautoscaling/target:Target", "ep-scaling")
    policy = llama.get("aws:appautoscaling/policy:Policy", "ep-scaling")
    endpoint = llama.get("aws:sagemaker/endpoint:Endpoint", "ep-endpoint")
    assert target.inputs == {
        "serviceNamespace": "sagemaker",
        "resourceId": "endpoint/ml-serving-prod-llama-8b/variant/primary",
        "scalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "minCapacity": 3,
        "maxCapacity": 6,
    }
    assert endpoint.urn in target.depends_on and target.urn in policy.depends_on
    tracking = policy.inputs["targetTrackingScalingPolicyConfiguration"]
    assert tracking["predefinedMetricSpecification"]["predefinedMetricType"] == (
        "SageMakerVariantConcurrentRequestsPerModelHighResolution"
    )
    assert (tracking["scaleOutCooldown"], tracking["scaleInCooldown"], tracking["targetValue"]) == (60, 900, 24)


def test_a_fixed_size_model_has_no_autoscaling():
    rec = _run(_model(1, autoscaling={"signal": "requests_per_second", "min_replicas": 2, "max_replicas": 2}),
               image={"sagemaker_image": {"framework": "sagemaker-tritonserver", "version": "26.05"}})
    assert not rec.of_type("aws:appautoscaling/target:Target")
    model = rec.get("aws:sagemaker/model:Model", "ep-model").inputs
    # Resolved offline from the SageMaker SDK's image tables.
    assert model["primaryContainer"]["image"] == "763104351884.dkr.ecr.us-east-1.amazonaws.com/sagemaker-tritonserver:26.05-py3"
    environment = model["primaryContainer"]["environment"]
    assert environment["SAGEMAKER_TRITON_DEFAULT_MODEL_NAME"] == "sentiment"
    assert set(environment) == {"SAGEMAKER_TRITON_DEFAULT_MODEL_NAME", "ML_SERVING_TRITON_CONFIG"}


def test_built_images_come_from_the_image_refs():
    rec = _run(_model(0), image={"build": {}}, refs={"vllm": ECR_IMAGE})
    assert rec.get("aws:sagemaker/model:Model", "ep-model").inputs["primaryContainer"]["image"] == ECR_IMAGE


def test_a_build_source_without_a_built_image_fails_cleanly():
    with pytest.raises(pulumi.RunError, match=r"images\.vllm\.build: no built vllm image was handed to the SageMaker endpoint of llama-8b"):
        _run(_model(0), image={"build": {}})


def test_an_unknown_aws_image_version_fails_cleanly():
    with pytest.raises(pulumi.RunError, match=r"no vllm image 9\.9 for us-east-1 in the SageMaker SDK's tables"):
        _run(_model(0), image={"sagemaker_image": {"framework": "vllm", "version": "9.9"}})


def test_scheduled_floors_raise_and_restore_min_capacity_after_the_target_exists():
    schedule = {"timezone": "America/New_York", "windows": [{"start": "08:30", "end": "19:00", "min_replicas": 4}]}
    rec = _run(_model(0, autoscaling={**_model(0).autoscaling.model_dump(exclude_unset=True), "schedule": schedule}))
    component = rec.get(COMPONENT, "ep")
    target = rec.get("aws:appautoscaling/target:Target", "ep-scaling")
    start = rec.get("aws:appautoscaling/scheduledAction:ScheduledAction", "ep-floor-0-start")
    end = rec.get("aws:appautoscaling/scheduledAction:ScheduledAction", "ep-floor-0-end")
    common = {
        "serviceNamespace": "sagemaker",
        "resourceId": "endpoint/ml-serving-prod-llama-8b/variant/primary",
        "scalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "timezone": "America/New_York",
    }
    # The stack's policy: min 2 + warm pool 1 = MinCapacity 3, max 6.
    assert start.inputs == {**common, "name": "ml-serving-prod-llama-8b-floor-0-start", "schedule": "cron(30 8 * * ? *)",
                            "scalableTargetAction": {"minCapacity": 5, "maxCapacity": 6}}
    assert end.inputs == {**common, "name": "ml-serving-prod-llama-8b-floor-0-end", "schedule": "cron(0 19 * * ? *)",
                          "scalableTargetAction": {"minCapacity": 3, "maxCapacity": 6}}
    assert start.parent == end.parent == component.urn
    assert target.urn in start.depends_on and target.urn in end.depends_on
    # The scheduled actions own MinCapacity: an update inside a window must not drop the floor.
    assert target.ignore_changes == ["minCapacity"]
    assert len(rec.of_type("aws:appautoscaling/scheduledAction:ScheduledAction")) == 2


def test_without_floors_the_target_owns_its_capacity(llama):
    assert llama.get("aws:appautoscaling/target:Target", "ep-scaling").ignore_changes == []
    assert not llama.of_type("aws:appautoscaling/scheduledAction:ScheduledAction")


def test_weekday_floors_schedule_their_days_and_a_night_window_restores_the_next_morning():
    schedule = {"timezone": "America/New_York", "windows": [
        {"start": "22:00", "end": "06:00", "min_replicas": 4, "days": ["fri", "sun"]}]}
    rec = _run(_model(0, autoscaling={**_model(0).autoscaling.model_dump(exclude_unset=True), "schedule": schedule}))
    start = rec.get("aws:appautoscaling/scheduledAction:ScheduledAction", "ep-floor-0-start")
    end = rec.get("aws:appautoscaling/scheduledAction:ScheduledAction", "ep-floor-0-end")
    # Application Auto Scaling's cron: day-of-month `?` where day-of-week is given.
    assert start.inputs["schedule"] == "cron(0 22 ? * FRI,SUN *)"
    assert end.inputs["schedule"] == "cron(0 6 ? * MON,SAT *)"
