"""EFA on the way to a group's pods: the device plugin's release values, and every pod of a
group asking for all of its node's EFA devices."""
import pytest

from components.compilers.helm_values import GPU_TOLERATION, efa_device_plugin
from components.compilers.leader_worker_set import leader_worker_set
from components.compilers.node_groups import EFA_LABEL, gpu_shape
from components.compilers.rollout import served_versions
from components.intent import versions
from tests.factories import model_of, spec_of

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-serving-vllm@sha256:" + "d" * 64
# The values aws-efa-k8s-device-plugin v0.5.30 reads (templates/daemonset.yaml at aws/eks-charts
# 5239609242f3430be50fb0b714a24d3ef2b47983); the chart is not among ../shared/charts.
CHART_VALUES_READ = {
    "updateStrategy", "additionalPodAnnotations", "additionalPodLabels", "imagePullSecrets", "tolerations",
    "nodeSelector", "supportedInstanceLabels", "image", "securityContext", "resources", "nameOverride",
    "fullnameOverride",
}


def test_the_plugin_pin_is_one_exact_eks_charts_version():
    pin = versions.CHARTS["aws-efa-k8s-device-plugin"]
    assert (pin.repo, pin.chart, pin.version) == ("https://aws.github.io/eks-charts", "aws-efa-k8s-device-plugin", "v0.5.30")


def test_plugin_values_are_keys_the_chart_reads_and_reach_only_efa_nodes():
    values = efa_device_plugin()
    assert set(values) <= CHART_VALUES_READ
    assert values["tolerations"] == [GPU_TOLERATION]
    h100 = next(p for p in spec_of("prod").cluster.gpu_pools if p.name == "h100")
    # The selector matches the label EFA pools' nodes carry, and only theirs.
    assert gpu_shape(h100).labels[EFA_LABEL] == values["nodeSelector"][EFA_LABEL]
    l40s = next(p for p in spec_of("prod").cluster.gpu_pools if p.name == "l40s")
    assert EFA_LABEL not in gpu_shape(l40s).labels


@pytest.mark.parametrize(("instance_type", "devices"), [("p5.48xlarge", "32")])
def test_every_pod_of_a_group_requests_all_efa_devices_of_its_node(instance_type, devices, crd_validator):
    served = served_versions(model_of("prod", "llama-405b", instance_type=instance_type))[0]
    lws = leader_worker_set(served, "h100", "us-east-1", IMAGE)
    assert crd_validator(lws) == []
    template = lws["spec"]["leaderWorkerTemplate"]
    for role in ("leaderTemplate", "workerTemplate"):
        container = template[role]["spec"]["containers"][0]
        for side in ("requests", "limits"):
            assert container["resources"][side]["vpc.amazonaws.com/efa"] == devices
        assert {"name": "FI_PROVIDER", "value": "efa"} in container["env"]


def test_a_100_gib_a100_group_requests_four_efa_devices(crd_validator):
    model = model_of("prod", "llama-405b", instance_type="p4de.24xlarge")
    served = served_versions(model)[0]
    pod = leader_worker_set(served, "a100", "us-east-1", IMAGE)["spec"]["leaderWorkerTemplate"]["workerTemplate"]
    assert pod["spec"]["containers"][0]["resources"]["limits"]["vpc.amazonaws.com/efa"] == "4"
