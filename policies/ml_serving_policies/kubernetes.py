"""Pods that hold GPUs: whole devices, shared memory, readiness, no root."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .values import get, is_map, items, number, shown, tolerant
from .workloads import GPU, ModelServer, containers, gpus_requested, model_servers, pod_specs

SHM_PATH = "/dev/shm"


def _quantity(value: object) -> str:
    count = number(value)
    return shown(count) if count is not None else shown(value)


def _check_gpu_requests(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for _, container in containers(args.resource_type, args.props):
        resources = get(container.spec, "resources")
        request, limit = get(resources, "requests", GPU), get(resources, "limits", GPU)
        if request is None and limit is None:
            continue
        if limit is None:
            report(f"{container.where} requests {_quantity(request)} {GPU} but sets no limit; "
                   f"extended resources need a limit (the request defaults to it).")
            continue
        limit_n = number(limit)
        if limit_n is None or limit_n < 1 or not limit_n.is_integer():
            report(f"{container.where} limits {GPU} to {_quantity(limit)}; GPUs are whole devices (1, 2, 4, 8).")
        elif request is not None and number(request) != limit_n:
            report(f"{container.where} requests {_quantity(request)} {GPU} but limits {_quantity(limit)}; "
                   "GPU requests must equal limits (GPUs cannot be overcommitted).")


GPU_REQUESTS_EQUAL_LIMITS = ResourceValidationPolicy(
    name="gpu-requests-equal-limits",
    display_name="GPU requests equal limits",
    description="Containers that use GPUs set a whole-number nvidia.com/gpu limit, and any request equals it.",
    validate=_check_gpu_requests,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["kubernetes", "gpu"],
    remediation_steps=(
        "Set resources.limits['nvidia.com/gpu'] to the number of GPUs the container needs and either omit "
        "the request or make it the same number. The model's `gpus` field in the stack file sets both."
    ),
)


def _is_shm_volume(volume: Mapping[str, Any]) -> bool:
    return get(volume, "emptyDir", "medium") == "Memory"


def _check_shared_memory(server: ModelServer, report: ReportViolation) -> None:
    if not gpus_requested(server.container):
        return
    mount = next((m for m in items(server.container.get("volumeMounts")) if get(m, "mountPath") == SHM_PATH), None)
    if mount is None:
        report(f"InferenceService {server.name}: the model server mounts nothing at {SHM_PATH}; the container "
               "runtime's 64 MiB default breaks NCCL (tensor parallelism), vLLM's workers and Triton's "
               "Python backend.", server.urn)
        return
    name = get(mount, "name")
    volume = next((v for v in server.volumes if is_map(v) and get(v, "name") == name), None)
    if volume is None or not _is_shm_volume(volume):
        report(f"InferenceService {server.name}: volume {shown(name)} at {SHM_PATH} is not an emptyDir with "
               "medium: Memory.", server.urn)
    elif get(volume, "emptyDir", "sizeLimit") is None:
        report(f"InferenceService {server.name}: the memory-backed volume {shown(name)} at {SHM_PATH} has no "
               "sizeLimit; without one it can take the whole pod memory limit unnoticed.", server.urn)


def _validate_shared_memory(args: StackValidationArgs, report: ReportViolation) -> None:
    for server in tolerant(lambda: list(model_servers(args.resources)), []):
        tolerant(lambda: _check_shared_memory(server, report), None)


GPU_SHARED_MEMORY = StackValidationPolicy(
    name="gpu-model-servers-shared-memory",
    display_name="Memory-backed /dev/shm for GPU model servers",
    description=(
        "GPU model servers (InferenceService predictors, merged with their serving runtime) mount a "
        "memory-backed emptyDir with a sizeLimit at /dev/shm."
    ),
    validate=_validate_shared_memory,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["kubernetes", "gpu", "llm"],
    remediation_steps=(
        "Add a volume `{name: dshm, emptyDir: {medium: Memory, sizeLimit: 2Gi}}` to spec.predictor.volumes "
        "and mount it at /dev/shm in spec.predictor.model.volumeMounts (components/compilers/kserve.py does "
        "this for every model); size it to a few GiB per GPU for tensor-parallel LLMs."
    ),
)


def _check_readiness(server: ModelServer, report: ReportViolation) -> None:
    if server.container.get("readinessProbe") is None:
        where = f" or its runtime {server.runtime}" if server.runtime else ""
        report(f"InferenceService {server.name}: neither the predictor{where} defines a readinessProbe, so "
               "traffic reaches replicas that are still loading weights.", server.urn)


def _validate_readiness(args: StackValidationArgs, report: ReportViolation) -> None:
    for server in tolerant(lambda: list(model_servers(args.resources)), []):
        tolerant(lambda: _check_readiness(server, report), None)


MODEL_SERVER_READINESS = StackValidationPolicy(
    name="model-servers-readiness-probe",
    display_name="Readiness probes on model servers",
    description="Every InferenceService predictor has a readinessProbe, from the InferenceService or its serving runtime.",
    validate=_validate_readiness,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["kubernetes", "reliability"],
    remediation_steps=(
        "Probe the server's health endpoint on its HTTP port: vLLM `/health`, Triton `/v2/health/ready`. "
        "Pair it with a startupProbe sized for weight loading so slow starts are not killed."
    ),
)


def _root_reason(container: Mapping[str, Any], pod_security: Mapping[str, Any]) -> str | None:
    security = get(container, "securityContext")
    if get(security, "privileged") is True:
        return "runs privileged"
    user = number(get(security, "runAsUser", default=get(pod_security, "runAsUser")))
    non_root = get(security, "runAsNonRoot", default=get(pod_security, "runAsNonRoot"))
    if user == 0:
        return "runs as uid 0"
    if non_root is True or (user is not None and user > 0):
        return None
    return "sets neither runAsNonRoot: true nor a non-zero runAsUser, so it runs as the image's user"


def _check_non_root(resource: Any, servers: dict[str, ModelServer], report: ReportViolation) -> None:
    server = servers.get(resource.urn)
    if server is not None:
        reason = _root_reason(server.container, server.pod_security)
        if reason:
            report(f"InferenceService {server.name}: spec.predictor.model {reason}.", resource.urn)
    for pod in pod_specs(resource.resource_type, resource.props):
        pod_security = get(pod.spec, "securityContext", default={})
        for container in pod.containers:
            if server is not None and container.where == "spec.predictor.model":
                continue
            reason = _root_reason(container.spec, pod_security)
            if reason:
                report(f"{resource.name}: {container.where} {reason}.", resource.urn)


def _validate_non_root(args: StackValidationArgs, report: ReportViolation) -> None:
    servers = {s.urn: s for s in tolerant(lambda: list(model_servers(args.resources)), [])}
    for resource in args.resources:
        if resource.resource_type.startswith("kubernetes:"):
            tolerant(lambda: _check_non_root(resource, servers, report), None)


CONTAINERS_NON_ROOT = StackValidationPolicy(
    name="containers-run-as-non-root",
    display_name="Containers run as non-root",
    description=(
        "Workload and serving-runtime containers run as a non-root user (runAsNonRoot or a non-zero runAsUser, "
        "at container or pod level) and never privileged."
    ),
    validate=_validate_non_root,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["kubernetes", "security"],
    remediation_steps=(
        "Set securityContext.runAsNonRoot: true and runAsUser: 1000 (our serving images run as uid 1000), "
        "drop all capabilities and keep privileged unset."
    ),
)

POLICIES = [GPU_REQUESTS_EQUAL_LIMITS, GPU_SHARED_MEMORY, MODEL_SERVER_READINESS, CONTAINERS_NON_ROOT]

