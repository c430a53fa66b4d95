"""Write a recorded run to `build/<stack>/`: resources, manifests, Helm values, summary."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from components.preview.engine import Recording, Resource
from components.preview.manifests import is_kubernetes_object, manifest


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def whole(value: Any) -> Any:
    """Whole numbers written as integers. The engine's protobuf carries every number as a float
    (engine._plain turns resource inputs back), and the planner's arithmetic makes floats of
    whole dollars and seconds: files say `minReplicas: 1` and `73`, never `1.0`."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [whole(v) for v in value]
    return value


def _json(value: Any) -> str:
    return json.dumps(whole(value), indent=2, sort_keys=True) + "\n"


def _dump_yaml(data: dict[str, Any]) -> str:
    """Top-level keys keep their order (apiVersion, kind, metadata first); below that keys
    are sorted so the files diff cleanly between runs."""
    ordered = {k: _sorted(whole(v)) for k, v in data.items()}
    return yaml.safe_dump(ordered, sort_keys=False, default_flow_style=False, width=120)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def write_build(
    recording: Recording,
    out_dir: Path,
    summary: str,
    policy: dict[str, Any] | None = None,
    cost: dict[str, Any] | None = None,
) -> list[Path]:
    """Replace `out_dir` with this run's files; returns the files written."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    written: list[Path] = []

    def emit(relative: str, text: str) -> None:
        path = out_dir / relative
        _write(path, text)
        written.append(path)

    emit("resources.json", _json([r.as_json() for r in recording.resources]))
    emit("outputs.json", _json(recording.outputs))
    for resource in recording.resources:
        if is_kubernetes_object(resource):
            doc = manifest(resource)
            meta = doc.get("metadata", {}) or {}
            namespace = meta.get("namespace") or "_cluster"
            emit(f"kubernetes/{_safe(namespace)}/{doc['kind']}.{_safe(meta.get('name', resource.name))}.yaml", _dump_yaml(doc))
        elif resource.type == "kubernetes:helm.sh/v3:Release":
            emit(f"helm/{_safe(resource.inputs.get('name', resource.name))}.yaml", _dump_yaml(_helm_view(resource)))
        elif (
            resource.type.startswith(("aws:sagemaker/", "aws:appautoscaling/"))
            # The alarms that roll an endpoint update back belong with the endpoint.
            or resource.parent_type == "ml-serving:sagemaker_endpoint:SageMakerEndpoint"
            and resource.type == "aws:cloudwatch/metricAlarm:MetricAlarm"
        ):
            emit(f"sagemaker/{resource.type.rsplit(':', 1)[-1]}.{_safe(resource.name)}.json",
                 _json(resource.inputs))
        elif resource.type == "aws:s3/bucketObjectv2:BucketObjectv2" and str(resource.inputs.get("key", "")).endswith("config.pbtxt"):
            model = resource.inputs["key"].rstrip("/").split("/")[-2]
            emit(f"triton/{_safe(model)}/config.pbtxt", resource.inputs.get("content", ""))
    if policy is not None:
        emit("policy.json", _json(policy))
    if cost is not None:
        emit("cost.json", _json(cost))
    emit("summary.md", summary)
    return written


def _helm_view(resource: Resource) -> dict[str, Any]:
    inputs = resource.inputs
    return {
        "release": inputs.get("name"),
        "namespace": inputs.get("namespace"),
        "chart": inputs.get("chart"),
        "repository": (inputs.get("repositoryOpts") or {}).get("repo"),
        "version": inputs.get("version"),
        "values": inputs.get("values", {}),
    }
