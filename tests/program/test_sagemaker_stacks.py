"""The sagemaker-dev and sagemaker-prod stacks through the real program and the offline preview."""
import json

import pytest

ENDPOINT = "ml-serving:sagemaker_endpoint:SageMakerEndpoint"


@pytest.mark.parametrize("stack", ["sagemaker-dev", "sagemaker-prod"])
def test_each_model_is_an_endpoint_with_guarded_rollouts(stack, previews):
    result = previews(stack)
    rec = result.recording
    assert not rec.of_type("aws:eks/cluster:Cluster")
    for model in result.spec.models:
        component = rec.get(ENDPOINT, f"ml-serving-{result.stack}-endpoint-{model.name}")
        children = {(r.type, r.name.removeprefix(component.name + "-")) for r in rec.children(component)}
        assert {
            ("aws:sagemaker/model:Model", "model"),
            ("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "config"),
            ("aws:sagemaker/endpoint:Endpoint", "endpoint"),
            ("aws:cloudwatch/metricAlarm:MetricAlarm", "alarm-error-rate"),
        } <= children
        endpoint = rec.get("aws:sagemaker/endpoint:Endpoint", f"{component.name}-endpoint").inputs
        alarms = [a["alarmName"] for a in endpoint["deploymentConfig"]["autoRollbackConfiguration"]["alarms"]]
        assert alarms and all(
            rec.get("aws:cloudwatch/metricAlarm:MetricAlarm", f"{component.name}-alarm-{a.removeprefix(endpoint['name'] + '-')}")
            for a in alarms
        )
        assert result.recording.outputs["endpoints"][model.name] == endpoint["name"]


def test_dev_is_cheap_and_scales_the_llm_on_its_request_rate(previews):
    rec = previews("sagemaker-dev").recording
    configs = {r.inputs["productionVariants"][0]["instanceType"] for r in rec.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")}
    assert configs == {"ml.g6.xlarge"}
    targets = rec.of_type("aws:appautoscaling/target:Target")
    assert [(t.inputs["resourceId"], t.inputs["minCapacity"], t.inputs["maxCapacity"]) for t in targets] == [
        ("endpoint/ml-serving-sagemaker-dev-llama-8b/variant/primary", 1, 2)
    ]
    policy = rec.get("aws:appautoscaling/policy:Policy", "ml-serving-sagemaker-dev-endpoint-llama-8b-scaling").inputs
    tracking = policy["targetTrackingScalingPolicyConfiguration"]
    # The tuned 0.233 requests/s per instance, as invocations a minute.
    assert tracking["predefinedMetricSpecification"] == {"predefinedMetricType": "SageMakerVariantInvocationsPerInstance"}
    assert tracking["targetValue"] == 13.98
    model = rec.get("aws:sagemaker/model:Model", "ml-serving-sagemaker-dev-endpoint-llama-8b-model").inputs
    assert model["primaryContainer"]["image"] == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/vllm:0.30.0-gpu-py312-cu130-ubuntu24.04-sagemaker"
    )
    assert model["primaryContainer"]["environment"]["SM_VLLM_MODEL"] == "/opt/ml/model"


def test_prod_rolls_the_llm_candidate_out_as_a_canary(previews):
    result = previews("sagemaker-prod")
    rec = result.recording
    endpoint = rec.get("aws:sagemaker/endpoint:Endpoint", "ml-serving-sagemaker-prod-endpoint-llama-8b-endpoint").inputs
    policy = endpoint["deploymentConfig"]["blueGreenUpdatePolicy"]
    assert policy["trafficRoutingConfiguration"] == {
        "type": "CANARY", "waitIntervalInSeconds": 900, "canarySize": {"type": "CAPACITY_PERCENT", "value": 10}
    }
    assert policy["terminationWaitInSeconds"] == 600
    assert endpoint["deploymentConfig"]["autoRollbackConfiguration"]["alarms"] == [
        {"alarmName": "ml-serving-sagemaker-prod-llama-8b-error-rate"}, {"alarmName": "ml-serving-sagemaker-prod-llama-8b-latency-p99"}
    ]
    model = rec.get("aws:sagemaker/model:Model", "ml-serving-sagemaker-prod-endpoint-llama-8b-model").inputs
    assert model["primaryContainer"]["modelDataSource"]["s3DataSources"][0]["s3Uri"].endswith("/llama-3.1-8b-instruct/v2/")
    config = rec.get("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "ml-serving-sagemaker-prod-endpoint-llama-8b-config").inputs
    assert config["dataCaptureConfig"]["destinationS3Uri"] == "s3://acme-ml-serving-models-sagemaker-prod/data-capture/llama-8b/"
    assert config["productionVariants"][0]["initialInstanceCount"] == 4  # the tuned floor, no spare
    scaling = rec.get("aws:appautoscaling/policy:Policy", "ml-serving-sagemaker-prod-endpoint-llama-8b-scaling").inputs
    tracking = scaling["targetTrackingScalingPolicyConfiguration"]
    # Scale out only once every one of the 64 slots (max_num_seqs) is busy: the floor carries bursts.
    assert tracking["predefinedMetricSpecification"] == {
        "predefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"
    }
    assert (tracking["targetValue"], tracking["scaleInCooldown"]) == (64, 300)
    sentiment = rec.get("aws:sagemaker/endpoint:Endpoint", "ml-serving-sagemaker-prod-endpoint-sentiment-endpoint").inputs
    assert sentiment["deploymentConfig"]["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"]["canarySize"] == {
        "type": "INSTANCE_COUNT", "value": 1
    }


def test_prod_keeps_its_data_but_not_its_endpoints(previews):
    rec = previews("sagemaker-prod").recording
    assert rec.get("aws:s3/bucket:Bucket", "ml-serving-sagemaker-prod-models-bucket").protect
    assert rec.get("aws:kms/key:Key", "ml-serving-sagemaker-prod-key").protect
    assert not any(r.protect for r in rec.of_type("aws:sagemaker/endpoint:Endpoint"))


def test_the_preview_writes_sagemaker_requests_and_alarms(previews, tmp_path):
    from components.preview.writers import write_build

    result = previews("sagemaker-prod")
    write_build(result.recording, tmp_path, result.summary)
    folder = tmp_path / "sagemaker"
    names = {p.name for p in folder.iterdir()}
    assert {
        "MetricAlarm.ml-serving-sagemaker-prod-endpoint-llama-8b-alarm-latency-p99.json",
        "Endpoint.ml-serving-sagemaker-prod-endpoint-llama-8b-endpoint.json",
        "EndpointConfiguration.ml-serving-sagemaker-prod-endpoint-llama-8b-config.json",
        "Model.ml-serving-sagemaker-prod-endpoint-llama-8b-model.json",
        "Target.ml-serving-sagemaker-prod-endpoint-llama-8b-scaling.json",
        "Policy.ml-serving-sagemaker-prod-endpoint-llama-8b-scaling.json",
    } <= names
    alarm = json.loads((folder / "MetricAlarm.ml-serving-sagemaker-prod-endpoint-llama-8b-alarm-latency-p99.json").read_text())
    assert alarm["threshold"] == 20_000_000
