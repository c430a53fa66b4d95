"""SageMaker real-time endpoints from the intent: the API requests, then pulumi_aws arguments.

The request builders return exactly what the SageMaker, CloudWatch and Application Auto
Scaling APIs take (boto3 spelling), so tests check them against botocore's service models
and moto runs them; the `pulumi_*` adapters turn them into pulumi_aws arguments, where the
Terraform-bridged names differ. Values the cloud computes (role ARN, subnet IDs, image
references) are passed in already resolved, which keeps every function here pure.

Rollouts are SageMaker blue/green updates: a change to the model or its settings gives the
model and the endpoint configuration new names (a hash of their content), the endpoint
moves to the new configuration, and SageMaker shifts traffic to the new fleet in the steps
the CanaryPolicy asks for, rolling back by itself when an alarm fires.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from components.compilers import iam
from components.compilers.sources import model_prefixes
from components.compilers.triton import config_digest
from components.intent.images import ImageSource
from components.intent.model import ModelSpec
from components.intent.quantization import kernel
from components.intent.stack import SAGEMAKER_UPDATE_WAIT_S, SageMakerSpec, sagemaker_traffic_shift

Request = dict[str, Any]
ImageKind = Literal["ml-serving", "djl-lmi", "vllm", "sagemaker-tritonserver"]

# Blue/green deployments need the same variant name in the old and the new configuration,
# and the alarms and the scalable target are addressed by it: it never changes.
VARIANT = "primary"
NAME_LIMIT = 63  # SageMaker model, endpoint configuration and endpoint names
MODEL_DIR = "/opt/ml/model"  # where SageMaker puts the S3 prefix before the container starts

# Sizing assumptions for the start-up timeouts, deliberately slow so a healthy start never
# times out: S3 to the instance's disk, then disk to GPU memory. Not measurements.
DOWNLOAD_GIB_PER_S = 0.15
LOAD_GIB_PER_S = 0.5
# CUDA graph capture, warm-up and the first health check (vLLM), or Triton loading its model.
ENGINE_START_S = 300
# An instance being placed and booted and the image pulled, before any of the above.
INSTANCE_START_S = 900
MIN_TIMEOUT_S, MAX_TIMEOUT_S = 300, 3600  # the API allows 60-3600 s; less than 5 min is never enough for a GPU server

# Standing alarms (no canary in flight) measure the SLO over this window.
SLO_WINDOW_S = 300

ROUTING = {"least_outstanding_requests": "LEAST_OUTSTANDING_REQUESTS", "random": "RANDOM"}
SCALING_METRICS = {
    # Requests in flight per model copy, published every 10 s: reacts within a minute.
    "concurrency": "SageMakerVariantConcurrentRequestsPerModelHighResolution",
    # Invocations per instance per minute (1-minute CloudWatch metric).
    "requests_per_second": "SageMakerVariantInvocationsPerInstance",
}
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"

# Instance families whose instances have local NVMe storage, which SageMaker encrypts itself:
# CreateEndpointConfig fails when a KmsKeyId is given for them. Every GPU family ml-serving
# offers is one, so endpoint volumes are hardware-encrypted and the stack key protects the
# weights in S3, the captured data and the logs.
INSTANCE_STORE_FAMILIES = frozenset({"g4dn", "g5", "g6", "g6e", "p4d", "p4de", "p5", "p5e", "p5en"})

ECR_REFERENCE = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repository>[^:@]+)"
)


# --- what runs -------------------------------------------------------------------------------


def image_kind(source: ImageSource) -> ImageKind:
    """Our own image (built or prebuilt) or one of AWS's SageMaker images: each reads its
    engine settings from different environment variables."""
    return source.sagemaker_image.framework if source.sagemaker_image is not None else "ml-serving"


def rolling_out(model: ModelSpec) -> bool:
    return model.canary is not None and model.canary.traffic_percent > 0


def served_version(model: ModelSpec) -> tuple[str, str]:
    """(version label, weights) the endpoint should serve: the candidate once its rollout has
    started, the stable version otherwise (also after a rollback to traffic_percent 0)."""
    if rolling_out(model):
        assert model.canary is not None
        return model.canary.version, model.canary.source
    return model.version, model.source


@dataclass(frozen=True)
class Timeouts:
    download_s: int  # ModelDataDownloadTimeoutInSeconds
    startup_s: int  # ContainerStartupHealthCheckTimeoutInSeconds


def _minutes(seconds: float) -> int:
    return int(min(MAX_TIMEOUT_S, max(MIN_TIMEOUT_S, math.ceil(seconds / 60) * 60)))


def timeouts(model: ModelSpec) -> Timeouts:
    """Start-up timeouts sized to the weights: twice the assumed transfer time, so a slow
    start still succeeds and a stuck one fails within the hour."""
    size = model.weights_gib()
    return Timeouts(
        download_s=_minutes(2 * size / DOWNLOAD_GIB_PER_S),
        startup_s=_minutes(ENGINE_START_S + 2 * size / LOAD_GIB_PER_S),
    )


def container_environment(model: ModelSpec, kind: ImageKind, limits: Timeouts) -> dict[str, str]:
    """The engine settings, in the variables the image reads."""
    if model.runtime == "triton":
        assert model.triton is not None
        # Our image and AWS's both start tritonserver on /opt/ml/model and load this model.
        # The config digest changes the model (and its content-hashed name) when config.pbtxt
        # changes, so the endpoint rolls onto it blue/green.
        return {
            "SAGEMAKER_TRITON_DEFAULT_MODEL_NAME": model.name,
            "ML_SERVING_TRITON_CONFIG": config_digest(model.name, model.triton),
        }
    engine = model.vllm
    assert engine is not None
    if kind == "djl-lmi":
        env = {
            "HF_MODEL_ID": MODEL_DIR,
            "OPTION_ROLLING_BATCH": "vllm",
            "OPTION_TENSOR_PARALLEL_DEGREE": str(model.gpus),
            "OPTION_MAX_MODEL_LEN": str(engine.max_model_len),
            "OPTION_MAX_ROLLING_BATCH_SIZE": str(engine.max_num_seqs),
            "OPTION_GPU_MEMORY_UTILIZATION": str(engine.gpu_memory_utilization),
            "OPTION_DTYPE": {"bfloat16": "bf16", "float16": "fp16"}[engine.dtype],
            "OPTION_MODEL_LOADING_TIMEOUT": str(limits.startup_s),
        }
        chosen = kernel(engine.quantization, engine.dtype)
        if chosen is not None:
            # LMI hands option.quantize to vLLM as its quantization method.
            env["OPTION_QUANTIZE"] = chosen.name
        if engine.kv_cache_dtype != "auto":
            env["OPTION_KV_CACHE_DTYPE"] = engine.kv_cache_dtype
        return env
    # vLLM's SageMaker convention, which our image's entrypoint and AWS's vLLM image share:
    # SM_VLLM_MAX_MODEL_LEN=8192 becomes --max-model-len 8192.
    flags = {
        "SM_VLLM_MAX_MODEL_LEN": str(engine.max_model_len),
        "SM_VLLM_GPU_MEMORY_UTILIZATION": str(engine.gpu_memory_utilization),
        "SM_VLLM_DTYPE": engine.dtype,
        "SM_VLLM_MAX_NUM_SEQS": str(engine.max_num_seqs),
        "SM_VLLM_TENSOR_PARALLEL_SIZE": str(model.gpus),
    }
    chosen = kernel(engine.quantization, engine.dtype)
    if chosen is not None:
        flags["SM_VLLM_QUANTIZATION"] = chosen.name
    if engine.kv_cache_dtype != "auto":
        flags["SM_VLLM_KV_CACHE_DTYPE"] = engine.kv_cache_dtype
    # The weights are on disk and the container has no network: never ask the Hugging Face Hub.
    offline = {"HF_HUB_OFFLINE": "1"}
    if kind == "vllm":
        return {"SM_VLLM_MODEL": MODEL_DIR, "SM_VLLM_SERVED_MODEL_NAME": model.name, **flags, **offline}
    # Our entrypoint serves /opt/ml/model itself and names it after SM_MODEL_NAME.
    return {"SM_MODEL_NAME": model.name, **flags, **offline}


# --- names -----------------------------------------------------------------------------------


def endpoint_name(prefix: str, model: ModelSpec) -> str:
    name = f"{prefix}-{model.name}"
    if len(name) <= NAME_LIMIT:
        return name
    # A long stack name: keep the model's name whole and make the stack part unique.
    stack_part = hashlib.sha256(prefix.encode()).hexdigest()[:8]
    return f"{prefix[: NAME_LIMIT - len(model.name) - 10].rstrip('-')}-{stack_part}-{model.name}"


def _content_name(base: str, request: Request) -> str:
    """`<base>-<8 hex>` from everything SageMaker would need a new resource for: a change
    gets a new name, so Pulumi creates the new one before deleting the old (blue/green),
    and going back to earlier settings gives back the earlier name."""
    content = {k: v for k, v in request.items() if k != "Tags"}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:8]
    return f"{base[: NAME_LIMIT - 9].rstrip('-')}-{digest}"


def _tags(model: ModelSpec, version: str) -> list[dict[str, str]]:
    return [{"Key": "ml-serving:model", "Value": model.name}, {"Key": "ml-serving:version", "Value": version}]


# --- SageMaker requests ----------------------------------------------------------------------


def model_request(
    model: ModelSpec,
    *,
    endpoint: str,
    kind: ImageKind,
    image: str,
    role_arn: str,
    subnet_ids: list[str],
    security_group_ids: list[str],
) -> Request:
    """CreateModel: the image, the weights from S3 and the engine settings."""
    version, source = served_version(model)
    request: Request = {
        "PrimaryContainer": {
            "Image": image,
            "Environment": container_environment(model, kind, timeouts(model)),
            # Uncompressed files under the prefix, copied to /opt/ml/model as they are (no tarball).
            "ModelDataSource": {"S3DataSource": {"S3Uri": source, "S3DataType": "S3Prefix", "CompressionType": "None"}},
        },
        "ExecutionRoleArn": role_arn,
        "VpcConfig": {"SecurityGroupIds": list(security_group_ids), "Subnets": list(subnet_ids)},
        # The container gets no network at all; SageMaker itself downloads the weights.
        "EnableNetworkIsolation": True,
        "Tags": _tags(model, version),
    }
    request["ModelName"] = _content_name(f"{endpoint}-{version}", request)
    return request


def min_capacity(model: ModelSpec) -> int:
    """Instances kept in service: the minimum plus the warm pool, which SageMaker can only
    keep as extra in-service instances."""
    return model.autoscaling.min_replicas + model.autoscaling.warm_pool


def volume_key_allowed(instance_type: str) -> bool:
    return instance_type.split(".")[0] not in INSTANCE_STORE_FAMILIES


def data_capture_prefix(model: ModelSpec) -> str:
    return f"data-capture/{model.name}/"


def endpoint_config_request(
    model: ModelSpec,
    settings: SageMakerSpec,
    *,
    endpoint: str,
    model_name: str,
    bucket: str,
    key_arn: str,
    deployment: Request,
) -> Request:
    """CreateEndpointConfig: one production variant on the model's GPU instance type.

    `deployment` (the endpoint's DeploymentConfig) counts towards the name: the provider calls
    UpdateEndpoint whenever it changes, so a new policy always comes with a configuration of
    its own rather than redeploying the one in service."""
    limits = timeouts(model)
    version, _ = served_version(model)
    variant = {
        "VariantName": VARIANT,
        "ModelName": model_name,
        "InstanceType": f"ml.{model.instance_type}",
        "InitialInstanceCount": min_capacity(model),
        "InitialVariantWeight": 1.0,
        "ModelDataDownloadTimeoutInSeconds": limits.download_s,
        "ContainerStartupHealthCheckTimeoutInSeconds": limits.startup_s,
        "RoutingConfig": {"RoutingStrategy": ROUTING[settings.routing]},
    }
    request: Request = {"ProductionVariants": [variant], "Tags": _tags(model, version)}
    if settings.data_capture_percent:
        request["DataCaptureConfig"] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": settings.data_capture_percent,
            "DestinationS3Uri": f"s3://{bucket}/{data_capture_prefix(model)}",
            "KmsKeyId": key_arn,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            # Store JSON bodies as text rather than base64.
            "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
        }
    if volume_key_allowed(model.instance_type):
        request["KmsKeyId"] = key_arn
    request["EndpointConfigName"] = _content_name(endpoint, {**request, "DeploymentConfig": deployment})
    return request


def bake_plan(model: ModelSpec, settings: SageMakerSpec) -> Request:
    """TrafficRoutingConfiguration: the canary's steps while it rolls out. Any other update
    (a new image, a changed setting) starts on one instance when the fleet has two or more,
    and moves all at once only on a single-instance fleet; each step bakes under the alarms."""
    if rolling_out(model):
        assert model.canary is not None
        shape = sagemaker_traffic_shift(model.canary.steps)
        assert shape is not None, "the intent accepts only canary or linear steps for SageMaker"
        kind, percent = shape
        size_key = "CanarySize" if kind == "CANARY" else "LinearStepSize"
        return {
            "Type": kind,
            "WaitIntervalInSeconds": model.canary.step_interval_s,
            size_key: {"Type": "CAPACITY_PERCENT", "Value": percent},
        }
    if min_capacity(model) >= 2:
        return {
            "Type": "CANARY",
            "WaitIntervalInSeconds": settings.bake_s,
            "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
        }
    return {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": settings.bake_s}


def deployment_timeout_s(model: ModelSpec, settings: SageMakerSpec) -> int:
    """MaximumExecutionTimeoutInSeconds: start the new fleet, bake every step, keep the old
    fleet for termination_wait_s. Capped at the hour the provider waits for an update, so
    SageMaker gives up (and rolls back) no later than `pulumi up` stops waiting."""
    routing = bake_plan(model, settings)
    if routing["Type"] == "LINEAR":
        bakes = 100 // routing["LinearStepSize"]["Value"]
    else:
        bakes = {"ALL_AT_ONCE": 1, "CANARY": 2}[routing["Type"]]
    limits = timeouts(model)
    total = (
        INSTANCE_START_S
        + limits.download_s
        + limits.startup_s
        + bakes * routing["WaitIntervalInSeconds"]
        + settings.termination_wait_s
    )
    return min(SAGEMAKER_UPDATE_WAIT_S, max(600, total))


def deployment_config(model: ModelSpec, settings: SageMakerSpec, alarm_names: list[str]) -> Request:
    """DeploymentConfig of the endpoint: how every update (a canary, a new image, a changed
    setting) moves traffic, and which alarms roll it back."""
    config: Request = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": bake_plan(model, settings),
            "TerminationWaitInSeconds": settings.termination_wait_s,
            "MaximumExecutionTimeoutInSeconds": deployment_timeout_s(model, settings),
        }
    }
    opted_out = rolling_out(model) and model.canary is not None and not model.canary.rollback_on_breach
    if alarm_names and not opted_out:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": name} for name in alarm_names]}
    return config


def endpoint_request(model: ModelSpec, *, endpoint: str, config_name: str, deployment: Request) -> Request:
    """CreateEndpoint (and UpdateEndpoint, which takes the same three fields)."""
    version, _ = served_version(model)
    return {
        "EndpointName": endpoint,
        "EndpointConfigName": config_name,
        "DeploymentConfig": deployment,
        "Tags": _tags(model, version),
    }


# --- CloudWatch alarms -----------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    metric: Literal["error_rate", "latency_p99"]
    max_value: float  # a ratio for error_rate, milliseconds for latency_p99
    window_s: int
    source: str  # where the number comes from, for the alarm's description


def thresholds(model: ModelSpec) -> list[Threshold]:
    """The SLO, with the canary's gates in its place while a rollout is in flight."""
    found: dict[str, Threshold] = {
        "error_rate": Threshold("error_rate", model.slo.error_rate, SLO_WINDOW_S, "slo.error_rate"),
    }
    if model.slo.latency_p99_ms is not None:
        found["latency_p99"] = Threshold("latency_p99", model.slo.latency_p99_ms, SLO_WINDOW_S, "slo.latency_p99_ms")
    if rolling_out(model):
        assert model.canary is not None
        for gate in model.canary.gates:
            if gate.max_value is None or gate.metric not in ("error_rate", "latency_p99"):
                continue
            value, source = gate.max_value, f"canary gate {gate.metric}"
            if gate.metric == "error_rate":
                value, source = blended_error_threshold(gate.max_value, model.slo.error_rate, model.canary.steps[0]), (
                    f"canary gate error_rate {gate.max_value:.2%} on the first {model.canary.steps[0]} %, "
                    f"blended with the stable fleet at its {model.slo.error_rate:.2%} objective"
                )
            found[gate.metric] = Threshold(gate.metric, value, gate.window_s, source)
    return [found[m] for m in ("error_rate", "latency_p99") if m in found]


def blended_error_threshold(candidate_max: float, stable_rate: float, first_step_percent: int) -> float:
    """The variant's error-rate alarm sees both fleets during a blue/green update: with the
    first step's share p on the new fleet, the candidate passing `candidate_max` while the
    stable fleet runs at its objective shows as p * candidate_max + (1 - p) * stable_rate."""
    share = first_step_percent / 100
    return round(share * candidate_max + (1 - share) * stable_rate, 6)


def alarm_name(endpoint: str, metric: str) -> str:
    return f"{endpoint}-{metric.replace('_', '-')}"


def variant_dimensions(endpoint: str) -> list[dict[str, str]]:
    return [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": VARIANT}]


def _metric(endpoint: str, metric_id: str, name: str, period: int) -> Request:
    return {
        "Id": metric_id,
        "MetricStat": {
            "Metric": {"Namespace": "AWS/SageMaker", "MetricName": name, "Dimensions": variant_dimensions(endpoint)},
            "Period": period,
            "Stat": "Sum",
        },
        "ReturnData": False,
    }


def alarm_requests(model: ModelSpec, endpoint: str, notify: list[str] | None = None) -> list[Request]:
    """PutMetricAlarm for each threshold, on the endpoint's variant. During a blue/green
    update the old and the new fleet report under the same variant, so an alarm sees both:
    a canary taking 10 % of requests moves the error rate by a tenth of its own. `notify`:
    the SNS topics of the receivers the stack routes this model's critical alerts to."""
    version, _ = served_version(model)
    requests = []
    for threshold in thresholds(model):
        common = {
            "AlarmName": alarm_name(endpoint, threshold.metric),
            # Told when it fires and when it clears, like Alertmanager's send_resolved.
            "AlarmActions": list(notify or []),
            "OKActions": list(notify or []),
            "ComparisonOperator": "GreaterThanThreshold",
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            # No requests is no evidence of a bad version.
            "TreatMissingData": "notBreaching",
            "Tags": _tags(model, version),
        }
        window = threshold.window_s
        if threshold.metric == "error_rate":
            requests.append({
                **common,
                "AlarmDescription": f"{model.name}: more than {threshold.max_value:.2%} of requests failed with 5XX "
                f"over {window} s ({threshold.source}); rolls an endpoint update back",
                "Metrics": [
                    _metric(endpoint, "errors", "Invocation5XXErrors", window),
                    _metric(endpoint, "invocations", "Invocations", window),
                    {"Id": "error_rate", "Expression": "IF(invocations > 0, errors / invocations, 0)",
                     "Label": "5XX share of invocations", "ReturnData": True},
                ],
                "Threshold": threshold.max_value,
            })
        else:
            requests.append({
                **common,
                "AlarmDescription": f"{model.name}: p99 model latency above {threshold.max_value:g} ms over "
                f"{window} s ({threshold.source}); rolls an endpoint update back",
                "Namespace": "AWS/SageMaker",
                "MetricName": "ModelLatency",
                "Dimensions": variant_dimensions(endpoint),
                "ExtendedStatistic": "p99",
                "Period": window,
                # ModelLatency is reported in microseconds.
                "Threshold": threshold.max_value * 1000,
            })
    return requests + _quality_alarms(model, endpoint, version)


def _quality_alarms(model: ModelSpec, endpoint: str, version: str) -> list[Request]:
    """A quality gate's CloudWatch Metrics Insights query, as a rollback alarm. Missing data
    breaches: SageMaker cannot hold a step, and a quality signal nobody publishes must not
    let an update through unchecked. Only while an update is in flight, like the gates."""
    if model.canary is None or not rolling_out(model):
        return []
    quality = [gate for gate in model.canary.gates if gate.metric == "quality"]
    return [
        {
            "AlarmName": alarm_name(endpoint, f"quality-{index}"),
            "AlarmDescription": f"{model.name}: quality gate {index} above {gate.max_value:g} over {gate.window_s} s "
            "(canary.gates, metric quality); rolls an endpoint update back",
            "ComparisonOperator": "GreaterThanThreshold",
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "TreatMissingData": "breaching",
            "Metrics": [{"Id": "quality", "Expression": gate.expression, "Period": gate.window_s,
                         "ReturnData": True, "Label": f"quality gate {index}"}],
            "Threshold": gate.max_value,
            "Tags": _tags(model, version),
        }
        for index, gate in enumerate(quality)
    ]


# --- Application Auto Scaling ----------------------------------------------------------------


def scaling_requests(model: ModelSpec, endpoint: str) -> tuple[Request, Request] | None:
    """RegisterScalableTarget and PutScalingPolicy (target tracking), or None when the policy
    leaves no room to scale. SageMaker real-time variants never go below one instance; the
    intent rejects scale_to_zero for them."""
    policy = model.autoscaling
    low = min_capacity(model)
    if low >= policy.max_replicas:
        return None
    resource = f"endpoint/{endpoint}/variant/{VARIANT}"
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": resource,
        "ScalableDimension": SCALABLE_DIMENSION,
        "MinCapacity": low,
        "MaxCapacity": policy.max_replicas,
    }
    # InvocationsPerInstance counts a minute of requests; the intent speaks per second.
    value = policy.target * 60 if policy.signal == "requests_per_second" else policy.target
    scaling = {
        "PolicyName": f"{endpoint}-{policy.signal.replace('_', '-')}",
        "ServiceNamespace": "sagemaker",
        "ResourceId": resource,
        "ScalableDimension": SCALABLE_DIMENSION,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": float(value),
            "PredefinedMetricSpecification": {"PredefinedMetricType": SCALING_METRICS[policy.signal]},
            "ScaleOutCooldown": policy.scale_up_window_s,
            "ScaleInCooldown": policy.scale_down_window_s,
        },
    }
    return target, scaling


AWS_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def aws_cron(clock: str, weekdays: tuple[int, ...] | None = None) -> str:
    """An HH:MM time as Application Auto Scaling's six-field cron expression (minutes hours
    day-of-month month day-of-week year; one of the day fields is `?`), every day or on
    `weekdays` (Monday 0)."""
    hours, mins = clock.split(":")
    if weekdays is None or len(weekdays) == 7:
        return f"cron({int(mins)} {int(hours)} * * ? *)"
    return f"cron({int(mins)} {int(hours)} ? * {','.join(AWS_DAYS[d] for d in sorted(weekdays))} *)"


def scheduled_action_requests(model: ModelSpec, endpoint: str) -> list[Request]:
    """PutScheduledAction requests for the policy's scheduled floors: at a window's start
    MinCapacity rises to its floor (plus the warm pool, as min_capacity adds it), at its end
    it falls back to the policy's own; target tracking scales within the bounds in force."""
    policy = model.autoscaling
    if policy.schedule is None or scaling_requests(model, endpoint) is None:
        return []
    resource = f"endpoint/{endpoint}/variant/{VARIANT}"
    requests = []
    for index, window in enumerate(policy.schedule.windows):
        # Every day is all seven: aws_cron writes `* * ?` for them.
        for edge, clock, days, low in (
            ("start", window.start, window.weekdays(), window.min_replicas + policy.warm_pool),
            ("end", window.end, window.end_weekdays(), min_capacity(model)),
        ):
            requests.append(
                {
                    "ScheduledActionName": f"{endpoint}-floor-{index}-{edge}",
                    "ServiceNamespace": "sagemaker",
                    "ResourceId": resource,
                    "ScalableDimension": SCALABLE_DIMENSION,
                    "Schedule": aws_cron(clock, days),
                    "Timezone": policy.schedule.timezone,
                    "ScalableTargetAction": {"MinCapacity": low, "MaxCapacity": policy.max_replicas},
                }
            )
    return requests


# --- IAM -------------------------------------------------------------------------------------


def log_group_name(endpoint: str) -> str:
    """Where SageMaker writes an endpoint's container logs."""
    return f"/aws/sagemaker/Endpoints/{endpoint}"


def ecr_repository_arn(image: str, partition: str) -> str | None:
    """The ECR repository an image reference lives in, None outside ECR."""
    found = ECR_REFERENCE.match(image)
    if found is None:
        return None
    return f"arn:{partition}:ecr:{found['region']}:{found['account']}:repository/{found['repository']}"


def execution_trust(account_id: str) -> iam.Policy:
    """SageMaker assumes the role, for this account's resources only (confused deputy)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ],
    }


def execution_policy(
    model: ModelSpec,
    settings: SageMakerSpec,
    *,
    partition: str,
    region: str,
    account_id: str,
    bucket_arn: str,
    key_arn: str,
    image: str,
    endpoint: str,
    subnet_ids: list[str],
    security_group_id: str,
) -> iam.Policy:
    """What the endpoint's instances do as this role: read the model's weights, pull its
    image, write its logs, attach to the VPC, and write captured requests."""
    # Stable and candidate weights both: a rollout and a rollback need no policy change.
    policy = iam.model_reader(bucket_arn, key_arn, model_prefixes([model]))
    statements = policy["Statement"]
    repository = ecr_repository_arn(image, partition)
    if repository is not None:
        statements += [
            # GetAuthorizationToken takes no resource.
            {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {
                "Sid": "PullModelImage",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                "Resource": repository,
            },
        ]
    log_group = f"arn:{partition}:logs:{region}:{account_id}:log-group:{log_group_name(endpoint)}"
    ec2 = f"arn:{partition}:ec2:{region}:{account_id}"
    statements += [
        {
            "Sid": "WriteEndpointLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Resource": [log_group, f"{log_group}:*"],
        },
        {
            # Describe calls take no resource.
            "Sid": "DescribeVpc",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
            ],
            "Resource": "*",
        },
        {
            "Sid": "AttachToPrivateSubnets",
            "Effect": "Allow",
            "Action": "ec2:CreateNetworkInterface",
            "Resource": [
                *(f"{ec2}:subnet/{subnet}" for subnet in subnet_ids),
                f"{ec2}:security-group/{security_group_id}",
                f"{ec2}:network-interface/*",
            ],
        },
        {
            "Sid": "ManageEndpointInterfaces",
            "Effect": "Allow",
            "Action": [
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            "Resource": f"{ec2}:network-interface/*",
        },
    ]
    if settings.data_capture_percent:
        statements += [
            {
                "Sid": "WriteCapturedData",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{data_capture_prefix(model)}*",
            },
            {
                "Sid": "EncryptCapturedData",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": key_arn,
            },
        ]
    return policy


# --- pulumi_aws arguments --------------------------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _snake_keys(value: Any) -> Any:
    """API spelling to Terraform's, for structures whose names map one to one."""
    if isinstance(value, dict):
        return {_snake(k): _snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake_keys(v) for v in value]
    return value


def _tag_map(request: Request) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in request.get("Tags", [])}


def pulumi_model_args(request: Request) -> dict[str, Any]:
    container = request["PrimaryContainer"]
    source = container["ModelDataSource"]["S3DataSource"]
    return {
        "name": request["ModelName"],
        "execution_role_arn": request["ExecutionRoleArn"],
        "enable_network_isolation": request["EnableNetworkIsolation"],
        "vpc_config": _snake_keys(request["VpcConfig"]),
        "primary_container": {
            "image": container["Image"],
            "environment": dict(container["Environment"]),  # a map: names stay as they are
            "model_data_source": {"s3_data_sources": [_snake_keys(source)]},
        },
        "tags": _tag_map(request),
    }


def pulumi_endpoint_config_args(request: Request) -> dict[str, Any]:
    variants = []
    for variant in request["ProductionVariants"]:
        args = _snake_keys({k: v for k, v in variant.items() if k != "RoutingConfig"})
        if "RoutingConfig" in variant:
            args["routing_configs"] = [_snake_keys(variant["RoutingConfig"])]
        variants.append(args)
    args: dict[str, Any] = {
        "name": request["EndpointConfigName"],
        "production_variants": variants,
        "tags": _tag_map(request),
    }
    if "DataCaptureConfig" in request:
        args["data_capture_config"] = _snake_keys(request["DataCaptureConfig"])
    if "KmsKeyId" in request:
        args["kms_key_arn"] = request["KmsKeyId"]
    return args


def pulumi_endpoint_args(request: Request) -> dict[str, Any]:
    return {
        "name": request["EndpointName"],
        "endpoint_config_name": request["EndpointConfigName"],
        "deployment_config": _snake_keys(request["DeploymentConfig"]),
        "tags": _tag_map(request),
    }


def pulumi_alarm_args(request: Request) -> dict[str, Any]:
    plain = {k: v for k, v in request.items() if k not in ("AlarmName", "Tags", "Metrics", "Dimensions")}
    args = {"name": request["AlarmName"], **_snake_keys(plain), "tags": _tag_map(request)}
    if "okactions" in args:  # "OK" is one word to CloudWatch, two letters to the snake-caser
        args["ok_actions"] = args.pop("okactions")
    if "Dimensions" in request:
        args["dimensions"] = {d["Name"]: d["Value"] for d in request["Dimensions"]}
    if "Metrics" in request:
        queries = []
        for query in request["Metrics"]:
            item = _snake_keys({k: v for k, v in query.items() if k != "MetricStat"})
            if "MetricStat" in query:
                stat = query["MetricStat"]
                item["metric"] = {
                    "namespace": stat["Metric"]["Namespace"],
                    "metric_name": stat["Metric"]["MetricName"],
                    "dimensions": {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]},
                    "period": stat["Period"],
                    "stat": stat["Stat"],
                }
            queries.append(item)
        args["metric_queries"] = queries
    return args


def pulumi_target_args(request: Request) -> dict[str, Any]:
    return _snake_keys(request)


def pulumi_policy_args(request: Request) -> dict[str, Any]:
    args = _snake_keys({k: v for k, v in request.items() if k != "PolicyName"})
    return {"name": request["PolicyName"], **args}


def pulumi_scheduled_action_args(request: Request) -> dict[str, Any]:
    args = _snake_keys({k: v for k, v in request.items() if k != "ScheduledActionName"})
    return {"name": request["ScheduledActionName"], **args}
