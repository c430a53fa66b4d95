"""One way to install a pinned chart: fixed release name and namespace, version from versions.py."""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.compilers.helm_values import NAMESPACES, RELEASES, Values
from components.intent import versions


def install(
    resource_name: str,
    chart_key: str,
    version: str,
    values: pulumi.Input[Values],
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    return install_release(resource_name, chart_key, RELEASES[chart_key], NAMESPACES[chart_key], version, values, opts)


def install_release(
    resource_name: str,
    chart_key: str,
    release: str,
    namespace: str,
    version: str,
    values: pulumi.Input[Values],
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    """A chart installed once per object it serves (one inferencepool release per model version)."""
    chart = versions.CHARTS[chart_key]
    oci = chart.repo.startswith("oci://")
    return k8s.helm.v3.Release(
        resource_name,
        name=release,
        namespace=namespace,
        create_namespace=True,
        chart=f"{chart.repo}/{chart.chart}" if oci else chart.chart,
        repository_opts=None if oci else k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo),
        version=version,
        values=values,
        # A failed upgrade rolls back instead of leaving a half-applied release.
        atomic=True,
        cleanup_on_fail=True,
        timeout=900,
        max_history=10,
        opts=opts,
    )
