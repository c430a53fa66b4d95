"""Where containers live in the Kubernetes objects we deploy, and what KServe makes of them.

KServe builds a predictor pod from the InferenceService *and* its serving runtime: the
runtime's `kserve-container` is the base, the InferenceService's `model` overrides it field
by field, and the pod gets the volumes of both. Checks that ask "does the model server have
X" must look at that merged container, not at the InferenceService alone.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .values import get, is_map, items, mapping

GPU = "nvidia.com/gpu"
ISVC = "serving.kserve.io/v1beta1:InferenceService"
RUNTIME_KINDS = ("ServingRuntime", "ClusterServingRuntime")
SCALED_OBJECT = "keda.sh/v1alpha1:ScaledObject"
# Pod templates of the built-in workload kinds, by kind.
TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}
ISVC_COMPONENTS = ("predictor", "transformer", "explainer")
# Framework shorthands on a predictor: each is a container spec like `model`.
PREDICTOR_FRAMEWORKS = (
    "model", "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx",
    "huggingface", "pmml", "lightgbm", "paddle",
)


def kind_of(resource_type: str) -> tuple[str, str]:
    """`kubernetes:apps/v1:Deployment` -> ("apps/v1", "Deployment"); ("", "") for anything else."""
    parts = resource_type.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes":
        return "", ""
    return parts[1], parts[2]


def is_kind(resource_type: str, *kinds: str) -> bool:
    return kind_of(resource_type)[1] in kinds and not resource_type.startswith("kubernetes:helm.sh/")


@dataclass
class Container:
    where: str  # e.g. "spec.predictor.model" or "spec.template.spec.containers[0] (vllm)"
    spec: Mapping[str, Any]


@dataclass
class PodSpec:
    where: str
    spec: Mapping[str, Any]
    containers: list[Container] = field(default_factory=list)


def _containers(pod: Mapping[str, Any], where: str) -> list[Container]:
    found = []
    for key in ("initContainers", "containers"):
        for index, container in enumerate(items(get(pod, key))):
            if is_map(container):
                name = get(container, "name")
                label = f"{where}.{key}[{index}]" + (f" ({name})" if name else "")
                found.append(Container(label, container))
    return found


def pod_specs(resource_type: str, props: Mapping[str, Any]) -> list[PodSpec]:
    """Every pod-shaped part of a Kubernetes object with its containers, as written."""
    _, kind = kind_of(resource_type)
    if resource_type.startswith("kubernetes:helm.sh/"):
        return []
    if kind in TEMPLATE_PATHS:
        path = TEMPLATE_PATHS[kind]
        pod = get(props, *path)
        if not is_map(pod):
            return []
        where = ".".join(path)
        return [PodSpec(where, pod, _containers(pod, where))]
    if kind == "InferenceService":
        found = []
        for component in ISVC_COMPONENTS:
            pod = get(props, "spec", component)
            if not is_map(pod):
                continue
            where = f"spec.{component}"
            containers = _containers(pod, where)
            for framework in PREDICTOR_FRAMEWORKS:
                container = get(pod, framework)
                if is_map(container):
                    containers.append(Container(f"{where}.{framework}", container))
            found.append(PodSpec(where, pod, containers))
            worker = get(pod, "workerSpec")
            if is_map(worker):
                found.append(PodSpec(f"{where}.workerSpec", worker, _containers(worker, f"{where}.workerSpec")))
        return found
    if kind in RUNTIME_KINDS:
        found = []
        spec = get(props, "spec")
        if is_map(spec):
            found.append(PodSpec("spec", spec, _containers(spec, "spec")))
            worker = get(spec, "workerSpec")
            if is_map(worker):
                found.append(PodSpec("spec.workerSpec", worker, _containers(worker, "spec.workerSpec")))
        return found
    return []


def containers(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[PodSpec, Container]]:
    for pod in pod_specs(resource_type, props):
        for container in pod.containers:
            yield pod, container


def gpus_requested(container: Mapping[str, Any]) -> bool:
    resources = get(container, "resources")
    return get(resources, "limits", GPU) is not None or get(resources, "requests", GPU) is not None


# --- KServe predictors merged with their serving runtime -------------------------------


@dataclass
class ModelServer:
    """A predictor as KServe will run it: InferenceService fields over the runtime's."""

    urn: str
    name: str
    container: dict[str, Any]
    volumes: list[Mapping[str, Any]]
    pod_security: Mapping[str, Any]
    runtime: str | None  # name of the runtime it resolved to, if it is in the stack


def _runtime_for(model: Mapping[str, Any], namespace: str | None, runtimes: Sequence[Any]) -> Any | None:
    """KServe looks for a namespaced ServingRuntime first, then a ClusterServingRuntime; with no
    runtime named, it auto-selects one that supports the model format."""
    wanted = get(model, "runtime")
    fmt = get(model, "modelFormat", "name")

    def matches(runtime: Any) -> bool:
        if wanted:
            return get(runtime.props, "metadata", "name") == wanted
        return any(
            get(f, "name") == fmt and get(f, "autoSelect") is True
            for f in items(get(runtime.props, "spec", "supportedModelFormats"))
        )

    namespaced = [
        r for r in runtimes
        if kind_of(r.resource_type)[1] == "ServingRuntime" and get(r.props, "metadata", "namespace") == namespace
    ]
    cluster_wide = [r for r in runtimes if kind_of(r.resource_type)[1] == "ClusterServingRuntime"]
    for candidates in (namespaced, cluster_wide):
        for runtime in candidates:
            if matches(runtime):
                return runtime
    return None


# The container fields our checks read; images and args may be unknown during a preview and
# are never needed here.
MERGED_FIELDS = ("name", "readinessProbe", "livenessProbe", "startupProbe", "securityContext", "volumeMounts", "resources")


def _merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key in MERGED_FIELDS:
        below, above = get(base, key), get(override, key)
        if key in ("securityContext", "resources") and is_map(below) and is_map(above):
            merged[key] = {**below, **above}
        elif key == "volumeMounts":
            by_path = {get(m, "mountPath"): m for m in items(below) + items(above)}
            merged[key] = list(by_path.values())
        elif above is not None:
            merged[key] = above
        elif below is not None:
            merged[key] = below
    return merged


def model_servers(resources: Sequence[Any]) -> Iterator[ModelServer]:
    """Each InferenceService predictor that serves through a runtime (`spec.predictor.model`).

    `resources` are PolicyResources (anything with resource_type, props and urn).
    """
    runtimes = [r for r in resources if is_kind(r.resource_type, *RUNTIME_KINDS)]
    for isvc in resources:
        if not is_kind(isvc.resource_type, "InferenceService"):
            continue
        predictor = get(isvc.props, "spec", "predictor")
        model = get(predictor, "model")
        if not is_map(model):
            continue
        runtime = _runtime_for(model, get(isvc.props, "metadata", "namespace"), runtimes)
        base: Mapping[str, Any] = {}
        volumes = list(items(get(predictor, "volumes")))
        pod_security = mapping(get(predictor, "securityContext"))
        if runtime is not None:
            spec = get(runtime.props, "spec")
            candidates = [c for c in items(get(spec, "containers")) if is_map(c)]
            base = next((c for c in candidates if get(c, "name") == "kserve-container"), candidates[0] if candidates else {})
            volumes += items(get(spec, "volumes"))
            if not pod_security:
                pod_security = mapping(get(spec, "securityContext"))
        yield ModelServer(
            urn=isvc.urn,
            name=get(isvc.props, "metadata", "name", default=isvc.name),
            container=_merged(base, model),
            volumes=volumes,
            pod_security=pod_security,
            runtime=get(runtime.props, "metadata", "name") if runtime is not None else None,
        )
