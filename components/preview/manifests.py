"""Turn recorded Kubernetes registrations back into the manifests the provider would apply."""
from __future__ import annotations

from typing import Any

from components.preview.engine import Resource


def is_kubernetes_object(resource: Resource) -> bool:
    return resource.type.startswith("kubernetes:") and not resource.type.startswith("kubernetes:helm.sh/")


def manifest(resource: Resource) -> dict[str, Any]:
    """apiVersion, kind and metadata first, then the object's own fields, as kubectl shows them."""
    module, kind = resource.type[len("kubernetes:"):].rsplit(":", 1)
    group, version = module.rsplit("/", 1)
    api_version = version if group == "core" else f"{group}/{version}"
    body = {k: v for k, v in resource.inputs.items() if not k.startswith("__") and k not in ("apiVersion", "kind")}
    ordered: dict[str, Any] = {"apiVersion": resource.inputs.get("apiVersion", api_version), "kind": resource.inputs.get("kind", kind)}
    if "metadata" in body:
        ordered["metadata"] = body.pop("metadata")
    ordered.update(body)
    return ordered
