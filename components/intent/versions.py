"""Every chart, image and Kubernetes version the platform pins, in one file.

Each pin says where it was read. Change a version here and the preview diff shows every
release and image it touches.
"""
from __future__ import annotations

from typing import NamedTuple

# EKS standard support on 2026-11: 1.34 (until 2026-12-02), 1.35 (until 2027-03-27), 1.36.
# Source: awsdocs/amazon-eks-user-guide kubernetes-versions-standard; endoflife.date/amazon-eks.
EKS_KUBERNETES_VERSIONS = ("1.34", "1.35", "1.36")
DEFAULT_KUBERNETES_VERSION = "1.35"


class Chart(NamedTuple):
    repo: str  # an https Helm repository or an oci:// registry path
    chart: str
    version: str


CHARTS: dict[str, Chart] = {
    # jetstack/cert-manager tag v1.21.1 (2026-07-29); OCI is the chart's source of truth.
    "cert-manager": Chart("oci://quay.io/jetstack/charts", "cert-manager", "v1.21.1"),
    # kedacore/charts keda/Chart.yaml 2.20.2 (KEDA v2.20.2, 2026-07-31).
    "keda": Chart("https://kedacore.github.io/charts", "keda", "2.20.2"),
    # kedacore/charts http-add-on/Chart.yaml 0.15.0 (2026-06-15).
    "keda-http-add-on": Chart("https://kedacore.github.io/charts", "keda-add-ons-http", "0.15.0"),
    # kserve/kserve v0.20.0 charts/kserve-crd and charts/kserve-resources (2026-08-06).
    "kserve-crd": Chart("oci://ghcr.io/kserve/charts", "kserve-crd", "v0.20.0"),
    "kserve": Chart("oci://ghcr.io/kserve/charts", "kserve-resources", "v0.20.0"),
    # prometheus-community/helm-charts kube-prometheus-stack 88.5.3 (operator v0.93.1).
    "kube-prometheus-stack": Chart(
        "https://prometheus-community.github.io/helm-charts", "kube-prometheus-stack", "88.5.3"
    ),
    # NVIDIA/k8s-device-plugin deployments/helm/nvidia-device-plugin/Chart.yaml 0.20.0.
    "nvidia-device-plugin": Chart("https://nvidia.github.io/k8s-device-plugin", "nvidia-device-plugin", "0.20.0"),
    # NVIDIA/dcgm-exporter deployment/Chart.yaml 4.8.2.
    "dcgm-exporter": Chart("https://nvidia.github.io/dcgm-exporter/helm-charts", "dcgm-exporter", "4.8.2"),
    # kubernetes/autoscaler cluster-autoscaler/charts/cluster-autoscaler 9.59.0 (2026-07-21).
    "cluster-autoscaler": Chart("https://kubernetes.github.io/autoscaler", "cluster-autoscaler", "9.59.0"),
    # kubernetes-sigs/external-dns tag external-dns-helm-chart-1.21.1 (app v0.21.0, 2026-04-30):
    # the newest chart whose files were read; 1.22 changed the annotation prefix and `policy`.
    "external-dns": Chart("https://kubernetes-sigs.github.io/external-dns", "external-dns", "1.21.1"),
    # envoyproxy/gateway v1.9.0 (2026-08-15); bundles Gateway API v1.6.1 CRDs.
    "envoy-gateway": Chart("oci://docker.io/envoyproxy", "gateway-helm", "v1.9.0"),
    # kubernetes-sigs/gateway-api-inference-extension v1.5.0 config/charts/inferencepool: one
    # InferencePool and its endpoint picker per release. v1.6.0 has no chart (the EPP moved to
    # llm-d/llm-d-router); v1.5.0's InferencePool v1 equals v1.6.0's CRD (../shared SOURCES.md).
    "inferencepool": Chart("oci://registry.k8s.io/gateway-api-inference-extension/charts", "inferencepool", "v1.5.0"),
    # envoyproxy/ai-gateway: the Envoy Gateway extension server that turns InferencePool
    # backendRefs into ext_proc + original-destination clusters (Envoy Gateway v1.9.0 has no
    # InferencePool code of its own). v1.1.0 is the release paired with Envoy Gateway 1.9 in
    # public install notes read 2026-12-01; its charts are not in ../shared, so only defaults.
    "ai-gateway-crds": Chart("oci://docker.io/envoyproxy", "ai-gateway-crds-helm", "v1.1.0"),
    "ai-gateway": Chart("oci://docker.io/envoyproxy", "ai-gateway-helm", "v1.1.0"),
    # kubernetes-sigs/lws v0.10.0 charts/lws: the LeaderWorkerSet controller and CRDs that
    # replicas across nodes run on (../shared/charts/lws-v0.10.0.tgz).
    "lws": Chart("oci://registry.k8s.io/lws/charts", "lws", "v0.10.0"),
    # aws/eks-charts stable/aws-efa-k8s-device-plugin/Chart.yaml v0.5.30 (app v0.5.20) at commit
    # 5239609242f3430be50fb0b714a24d3ef2b47983 (2026-08-03): advertises vpc.amazonaws.com/efa on
    # EFA pools. Not among ../shared/charts: its values are the two keys its daemonset reads
    # that we need (tests/compilers/test_efa_device_plugin.py).
    "aws-efa-k8s-device-plugin": Chart("https://aws.github.io/eks-charts", "aws-efa-k8s-device-plugin", "v0.5.30"),
    # fluxcd/flagger tag v1.44.0, charts/flagger/Chart.yaml 1.44.0 (app 1.44.0); repo from its README.
    "flagger": Chart("https://flagger.app", "flagger", "1.44.0"),
}

# Cluster Autoscaler must match the cluster's minor version (its README); newest patch of
# each minor from kubernetes/autoscaler release tags cluster-autoscaler-1.3x.y (2026-07-22).
CLUSTER_AUTOSCALER_IMAGE = "registry.k8s.io/autoscaling/cluster-autoscaler"
CLUSTER_AUTOSCALER_TAGS = {"1.34": "v1.34.5", "1.35": "v1.35.2", "1.36": "v1.36.1"}

# Base images of our serving images (containers/<runtime>/Dockerfile, build arg BASE_IMAGE),
# pinned by tag and digest; the Dockerfiles' ARG defaults must equal these (tests check).
IMAGES: dict[str, str] = {
    # Multi-arch index digest of vllm/vllm-openai v0.31.0, as pinned in ai-dynamo/dynamo
    # container/deps/vllm/patches/README.md @0df68d94 ("verified 2026-10-05").
    "vllm": "vllm/vllm-openai:v0.31.0@sha256:c1c9f6fd5c109ba7f0546a59f5b2f15fb87f64c77782e90a27b648b42a8e67c3",
    # Found pinned in public project files, not read from NGC itself: verify with
    # `docker buildx imagetools inspect nvcr.io/nvidia/tritonserver:26.06-py3` before the first build.
    "triton": "nvcr.io/nvidia/tritonserver:26.06-py3@sha256:a40838bb4587d2aceb46b1e7fd144afb24c9016c219dd3eba31716e4e28dbfc7",
}

# Load-test clients (make loadtest; components/compilers/loadtest.py). vLLM's runs from the vLLM
# image above. perf_analyzer ships in the Triton SDK image of the same release; its digest
# could not be read here, so the tag is the default and `make loadtest SDK_IMAGE=<ref>@sha256:…`
# pins it (the renderer warns until then).
LOADTEST_IMAGES: dict[str, str] = {
    "triton-sdk": "nvcr.io/nvidia/tritonserver:26.06-py3-sdk",
}
