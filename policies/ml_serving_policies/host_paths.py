"""Pods reach into their node only through the node cache directory."""
from __future__ import annotations

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity

from .values import get, is_map, items, shown
from .workloads import pod_specs

# The node cache directories components/compilers/node_bootstrap.py makes (root volume, NVMe
# array); tests/policies tie the two lists together.
NODE_CACHE_DIRS = ("/var/lib/ml-serving/cache", "/mnt/k8s-disks/0/ml-serving/cache")


def _check_host_paths(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for pod in pod_specs(args.resource_type, args.props):
        for index, volume in enumerate(items(get(pod.spec, "volumes"))):
            host = get(volume, "hostPath") if is_map(volume) else None
            if not is_map(host):
                continue
            path, kind = get(host, "path"), get(host, "type")
            where = f"{pod.where}.volumes[{index}]"
            if path not in NODE_CACHE_DIRS:
                report(f"{where} mounts the node's {shown(path)}; pods may mount only the node cache "
                       f"({' or '.join(NODE_CACHE_DIRS)}).")
            elif kind != "Directory":
                report(f"{where} mounts the node cache with type {shown(kind)}; use type Directory, so a node "
                       "without the directory (made by the launch template, owned by the serving user) fails "
                       "the mount instead of creating it root-owned.")


HOST_PATHS_NODE_CACHE_ONLY = ResourceValidationPolicy(
    name="host-paths-node-cache-only",
    display_name="Host paths: the node cache only",
    description="A pod mounts no directory of its node except the node cache (compile_cache node), and that one "
    "only when it already exists.",
    validate=_check_host_paths,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["kubernetes", "security"],
    remediation_steps=(
        "Use an emptyDir, a ConfigMap or a Secret instead of a hostPath. For the compile cache set the GPU "
        "pool's cold_start.compile_cache to node, which mounts the node cache with type Directory."
    ),
)

POLICIES = [HOST_PATHS_NODE_CACHE_ONLY]
