"""How model servers scale: on load, within bounds, and in prod never to zero."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .settings import config_schema, settings
from .values import get, items, number, shown
from .workloads import is_kind

APP_AUTOSCALING_TARGET = "aws:appautoscaling/target:Target"
APP_AUTOSCALING_POLICY = "aws:appautoscaling/policy:Policy"
ENDPOINT_CONFIGURATION = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
AUTOSCALER_CLASS = "serving.kserve.io/autoscalerClass"
DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"
# KServe's HPA class scales on CPU (default) or memory; nothing else.
HPA_CLASSES = ("hpa", None)
STANDARD_MODES = ("Standard", "RawDeployment")
# Utilization series a Prometheus-based trigger must not scale a model server on.
UTILIZATION_SERIES = re.compile(
    r"DCGM_FI_DEV_GPU_UTIL|DCGM_FI_PROF_GR_ENGINE_ACTIVE|DCGM_FI_PROF_SM_(ACTIVE|OCCUPANCY)|DCGM_FI_DEV_MEM_COPY_UTIL"
    r"|nv_gpu_utilization|container_cpu_usage_seconds_total|node_cpu_seconds_total|container_memory_working_set_bytes"
)
SAGEMAKER_UTILIZATION_METRICS = ("CPUUtilization", "GPUUtilization", "GPUMemoryUtilization", "MemoryUtilization")


def _is_sagemaker_variant(props: Mapping[str, Any]) -> bool:
    return get(props, "serviceNamespace") == "sagemaker"


# --- online-models-keep-warm-replica ----------------------------------------------------

WARM_SCHEMA = {
    "minReplicas": {
        "type": "integer", "minimum": 1, "default": 1,
        "description": "Replicas (or instances) every online model keeps running.",
    }
}


def _check_warm_replica(args: ResourceValidationArgs, report: ReportViolation) -> None:
    floor = int(settings(args, WARM_SCHEMA)["minReplicas"])
    props = args.props
    if is_kind(args.resource_type, "InferenceService"):
        # KServe's default is one replica.
        low = number(get(props, "spec", "predictor", "minReplicas", default=1))
        if low is not None and low < floor:
            report(f"spec.predictor.minReplicas is {shown(low)}; online models keep at least {floor}.")
    elif is_kind(args.resource_type, "ScaledObject"):
        # KEDA's default minReplicaCount is 0.
        low = number(get(props, "spec", "minReplicaCount", default=0))
        if low is not None and low < floor:
            report(f"spec.minReplicaCount is {shown(low)}; online models keep at least {floor}.")
        idle = get(props, "spec", "idleReplicaCount")
        if idle is not None:
            report(f"spec.idleReplicaCount is {shown(idle)}: the model scales to it when idle, so the next "
                   "request waits minutes for a GPU replica.")
    elif args.resource_type == APP_AUTOSCALING_TARGET and _is_sagemaker_variant(props):
        low = number(get(props, "minCapacity"))
        if low is not None and low < floor:
            report(f"minCapacity is {shown(low)} for {get(props, 'resourceId')}; online models keep at least {floor}.")
    elif args.resource_type == ENDPOINT_CONFIGURATION:
        for index, variant in enumerate(items(get(props, "productionVariants"))):
            low = number(get(variant, "managedInstanceScaling", "minInstanceCount"))
            if low is not None and low < floor:
                report(f"productionVariants[{index}].managedInstanceScaling.minInstanceCount is {shown(low)}; "
                       f"online models keep at least {floor}.")


WARM_REPLICA = ResourceValidationPolicy(
    name="online-models-keep-warm-replica",
    display_name="Online models keep a warm replica",
    description=(
        "Online models never scale to zero: InferenceService minReplicas, KEDA minReplicaCount (no "
        "idleReplicaCount) and SageMaker variant minCapacity stay at or above a floor. Enabled in prod."
    ),
    validate=_check_warm_replica,
    config_schema=config_schema(WARM_SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["reliability", "latency", "prod"],
    remediation_steps=(
        "Set autoscaling.min_replicas >= 1 and scale_to_zero: false for the model in the stack file. "
        "Scale-to-zero is for dev and staging, where a cold start of minutes is acceptable."
    ),
)


# --- autoscaling-on-load-signals -------------------------------------------------------


def _utilization_query(query: Any) -> str | None:
    match = UTILIZATION_SERIES.search(query) if isinstance(query, str) else None
    return match.group(0) if match else None


def _check_isvc_signal(props: Mapping[str, Any], report: ReportViolation) -> None:
    annotations = get(props, "metadata", "annotations", default={})
    predictor = get(props, "spec", "predictor", default={})
    autoscaler = get(annotations, AUTOSCALER_CLASS)
    mode = get(annotations, DEPLOYMENT_MODE)
    metric = get(predictor, "scaleMetric")
    low = number(get(predictor, "minReplicas", default=1))
    high = number(get(predictor, "maxReplicas", default=0))
    scales = high is not None and low is not None and high > low
    if metric in ("cpu", "memory"):
        report(f"spec.predictor.scaleMetric is {metric}; GPU model servers saturate on queue and KV cache long "
               "before CPU or memory move.")
    elif mode in STANDARD_MODES and autoscaler in HPA_CLASSES and scales:
        report(f"Standard mode with autoscalerClass {autoscaler or 'hpa (default)'} scales on CPU "
               "utilization; use autoscalerClass keda or external with a queue-depth or concurrency trigger.")
    for index, metric_spec in enumerate(items(get(predictor, "autoScaling", "metrics"))):
        resource_name = get(metric_spec, "resource", "name")
        if get(metric_spec, "type") == "Resource" and resource_name in ("cpu", "memory"):
            report(f"spec.predictor.autoScaling.metrics[{index}] scales on {resource_name} utilization.")
        series = _utilization_query(get(metric_spec, "external", "metric", "query"))
        if series:
            report(f"spec.predictor.autoScaling.metrics[{index}] scales on {series}, a utilization series.")


def _check_scaled_object_signal(props: Mapping[str, Any], report: ReportViolation) -> None:
    for index, trigger in enumerate(items(get(props, "spec", "triggers"))):
        kind = get(trigger, "type")
        if kind in ("cpu", "memory"):
            report(f"spec.triggers[{index}] is a {kind} trigger; model servers scale on queue depth, "
                   "concurrency or latency.")
        series = _utilization_query(get(trigger, "metadata", "query"))
        if series:
            report(f"spec.triggers[{index}] queries {series}, a utilization series; GPU utilization reads "
                   "~100% on a busy and on a merely loaded LLM alike.")


def _check_sagemaker_signal(props: Mapping[str, Any], report: ReportViolation) -> None:
    tracking = get(props, "targetTrackingScalingPolicyConfiguration", default={})
    custom = get(tracking, "customizedMetricSpecification", default={})
    names = [get(custom, "metricName")] + [
        get(m, "metricStat", "metric", "metricName") for m in items(get(custom, "metrics"))
    ]
    for name in names:
        if name in SAGEMAKER_UTILIZATION_METRICS:
            report(f"target tracking on {name} for {get(props, 'resourceId')}; use "
                   "SageMakerVariantConcurrentRequestsPerModelHighResolution or invocations per instance.")


def _check_signal(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if is_kind(args.resource_type, "InferenceService"):
        _check_isvc_signal(args.props, report)
    elif is_kind(args.resource_type, "ScaledObject"):
        _check_scaled_object_signal(args.props, report)
    elif args.resource_type == APP_AUTOSCALING_POLICY and _is_sagemaker_variant(args.props):
        _check_sagemaker_signal(args.props, report)


LOAD_SIGNALS = ResourceValidationPolicy(
    name="autoscaling-on-load-signals",
    display_name="Model servers scale on load, not utilization",
    description=(
        "InferenceServices, KEDA ScaledObjects and SageMaker variant scaling policies scale on request load "
        "(queue depth, concurrency, invocations), never on CPU, memory or GPU utilization."
    ),
    validate=_check_signal,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["autoscaling", "gpu", "llm"],
    remediation_steps=(
        "Choose autoscaling.signal queue_depth, concurrency or requests_per_second in the stack file: on EKS that compiles to "
        "a KEDA prometheus trigger on vllm:num_requests_waiting (or Triton's queue), on SageMaker to target "
        "tracking on concurrent requests per model."
    ),
)


# --- max-replicas-bounded ------------------------------------------------------------------

MAX_SCHEMA = {
    "maxReplicas": {
        "type": "integer", "minimum": 1, "default": 32,
        "description": "Highest replica (or instance) count any one model version may scale to.",
    }
}


def _check_max_replicas(args: ResourceValidationArgs, report: ReportViolation) -> None:
    ceiling = int(settings(args, MAX_SCHEMA)["maxReplicas"])
    props = args.props

    def bound(field: str, value: Any, unbounded_when_missing: str | None) -> None:
        if value is None:
            if unbounded_when_missing:
                report(f"{field} is not set: {unbounded_when_missing}; set it to at most {ceiling}.")
            return
        count = number(value)
        if count is not None and count > ceiling:
            report(f"{field} is {shown(count)}; the limit for this environment is {ceiling}.")

    if is_kind(args.resource_type, "InferenceService"):
        annotations = get(props, "metadata", "annotations", default={})
        high = get(props, "spec", "predictor", "maxReplicas")
        knative = get(annotations, DEPLOYMENT_MODE) in ("Knative", "Serverless")
        if knative and number(high) == 0:
            high = None
        bound("spec.predictor.maxReplicas", high, "Knative scales without limit" if knative else None)
    elif is_kind(args.resource_type, "ScaledObject"):
        bound("spec.maxReplicaCount", get(props, "spec", "maxReplicaCount"), "KEDA then allows 100 replicas")
    elif args.resource_type == APP_AUTOSCALING_TARGET and _is_sagemaker_variant(props):
        bound("maxCapacity", get(props, "maxCapacity"), None)


MAX_REPLICAS = ResourceValidationPolicy(
    name="max-replicas-bounded",
    display_name="Max replicas bounded",
    description=(
        "Every autoscaled model version has an explicit replica ceiling no higher than the environment's "
        "maxReplicas (KServe maxReplicas, KEDA maxReplicaCount, SageMaker maxCapacity)."
    ),
    validate=_check_max_replicas,
    config_schema=config_schema(MAX_SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["autoscaling", "cost"],
    remediation_steps=(
        "Lower autoscaling.max_replicas for the model, or raise maxReplicas for the environment in "
        "policies/config.<env>.json after a capacity and budget review."
    ),
)

POLICIES = [WARM_REPLICA, LOAD_SIGNALS, MAX_REPLICAS]

