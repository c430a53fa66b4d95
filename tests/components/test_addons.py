"""The in-cluster platform: charts, their order and the objects around them."""
import json

import pulumi
import pulumi_random as random

from components.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.gateway import ModelGateway, ModelGatewayArgs
from components.intent.cluster import Observability as ObservabilitySpec
from components.keda import Keda, KedaArgs
from components.kserve import KServe, KServeArgs
from components.model_namespace import ModelNamespace, ModelNamespaceArgs
from components.nvidia import NvidiaGpu, NvidiaGpuArgs
from components.observability import Observability, ObservabilityArgs
from components.preview.engine import run_under_mocks


def Marker(name: str) -> pulumi.CustomResource:
    """A stand-in dependency: a real (custom) resource, so depending on it leaves its URN."""
    return random.RandomString(name, length=4)


def _releases(rec):
    return {r.inputs["name"]: r for r in rec.of_type("kubernetes:helm.sh/v3:Release")}


def test_kube_prometheus_stack_with_a_generated_grafana_password():
    rec = run_under_mocks(lambda: Observability("obs", ObservabilityArgs(ObservabilitySpec(retention_days=30), "88.5.3", "gp3-encrypted")))
    release = _releases(rec)["kube-prometheus-stack"]
    assert release.inputs["chart"] == "kube-prometheus-stack"
    assert release.inputs["repositoryOpts"]["repo"] == "https://prometheus-community.github.io/helm-charts"
    assert release.inputs["version"] == "88.5.3" and release.inputs["namespace"] == "monitoring"
    assert release.inputs["values"]["prometheus"]["prometheusSpec"]["retention"] == "30d"
    secret = rec.get("kubernetes:core/v1:Secret", "obs-grafana-admin")
    assert secret.inputs["metadata"]["name"] == "grafana-admin"
    assert secret.urn in release.depends_on
    assert rec.get("random:index/randomPassword:RandomPassword", "obs-grafana-admin").inputs["length"] == 32


def test_kserve_controller_waits_for_keda_and_cert_manager():
    def program():
        keda = Marker("keda")
        KServe("kserve", KServeArgs("v0.20.0", "v1.21.1", keda=keda, monitoring=Marker("kps")))

    rec = run_under_mocks(program)
    releases = _releases(rec)
    controller = releases["kserve"]
    assert controller.inputs["chart"] == "oci://ghcr.io/kserve/charts/kserve-resources"
    assert controller.inputs["values"]["kserve"]["controller"]["deploymentMode"] == "Standard"
    assert rec.get("random:index/randomString:RandomString", "keda").urn in controller.depends_on
    assert releases["cert-manager"].urn in controller.depends_on and releases["kserve-crd"].urn in controller.depends_on
    assert releases["cert-manager"].inputs["chart"] == "oci://quay.io/jetstack/charts/cert-manager"
    assert releases["cert-manager"].inputs["values"]["crds"] == {"enabled": True, "keep": True}
    assert all(r.inputs["atomic"] is True for r in releases.values())


def test_keda_installs_the_http_add_on_only_when_a_model_can_idle():
    def program(http):
        return lambda: Keda("keda", KedaArgs("2.20.2", "0.15.0" if http else None, 1, "models", monitoring=Marker("kps")))

    with_http = run_under_mocks(program(True))
    releases = _releases(with_http)
    assert set(releases) == {"keda", "http-add-on"}
    assert releases["http-add-on"].inputs["chart"] == "keda-add-ons-http"
    assert releases["keda"].urn in releases["http-add-on"].depends_on
    grant = with_http.get("kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant", "keda-referencegrant-models-routes-to-interceptor")
    assert grant.inputs["metadata"]["namespace"] == "keda"
    without = run_under_mocks(program(False))
    assert set(_releases(without)) == {"keda"}


def test_nvidia_device_plugin_and_dcgm_exporter():
    rec = run_under_mocks(lambda: NvidiaGpu("gpu", NvidiaGpuArgs("0.20.0", "4.8.2", monitoring=Marker("kps"))))
    releases = _releases(rec)
    assert releases["nvidia-device-plugin"].inputs["namespace"] == "kube-system"
    assert releases["nvidia-device-plugin"].inputs["values"] == {"gfd": {"enabled": False}}
    dcgm = releases["dcgm-exporter"]
    assert dcgm.inputs["values"]["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert rec.get("random:index/randomString:RandomString", "kps").urn in dcgm.depends_on


def test_cluster_autoscaler_gets_a_scoped_role_through_pod_identity():
    args = ClusterAutoscalerArgs("ml-serving-dev", "ml-serving-dev", "us-east-1", "1.35", "9.59.0")
    rec = run_under_mocks(lambda: ClusterAutoscaler("ca", args))
    release = _releases(rec)["cluster-autoscaler"]
    assert release.inputs["values"]["autoDiscovery"] == {"clusterName": "ml-serving-dev"}
    association = rec.get("aws:eks/podIdentityAssociation:PodIdentityAssociation", "ca-aws").inputs
    assert (association["namespace"], association["serviceAccount"]) == ("kube-system", "cluster-autoscaler")
    policy = json.loads(rec.get("aws:iam/rolePolicy:RolePolicy", "ca-aws").inputs["policy"])
    assert rec.get("aws:iam/rolePolicy:RolePolicy", "ca-aws").urn in release.depends_on
    scale = next(s for s in policy["Statement"] if s["Sid"] == "ScaleOwnedGroups")
    assert "aws:ResourceTag/k8s.io/cluster-autoscaler/ml-serving-dev" in scale["Condition"]["StringEquals"]


def test_gateway_chart_then_class_then_gateway():
    rec = run_under_mocks(lambda: ModelGateway("gw", ModelGatewayArgs("v1.9.0", "models", "models.internal")))
    release = _releases(rec)["eg"]
    assert release.inputs["chart"] == "oci://docker.io/envoyproxy/gateway-helm" and release.inputs["version"] == "v1.9.0"
    klass = rec.get("kubernetes:gateway.networking.k8s.io/v1:GatewayClass", "gw-gatewayclass-ml-serving")
    gateway = rec.get("kubernetes:gateway.networking.k8s.io/v1:Gateway", "gw-gateway-models")
    assert klass.urn in gateway.depends_on and release.urn in klass.depends_on
    assert gateway.inputs["spec"]["listeners"][0]["hostname"] == "*.models.internal"


def test_model_namespace_service_account_and_priorities():
    rec = run_under_mocks(lambda: ModelNamespace("ns", ModelNamespaceArgs()))
    namespace = rec.get("kubernetes:core/v1:Namespace", "ns-namespace-models")
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    account = rec.get("kubernetes:core/v1:ServiceAccount", "ns-serviceaccount-model-reader")
    assert namespace.urn in account.depends_on
    priorities = {p.inputs["metadata"]["name"]: p.inputs for p in rec.of_type("kubernetes:scheduling.k8s.io/v1:PriorityClass")}
    assert priorities["warm-pool-placeholder"]["value"] < 0 < priorities["model-serving"]["value"]
    assert priorities["warm-pool-placeholder"]["preemptionPolicy"] == "Never"


def test_model_names_resolve_in_a_private_zone_written_by_external_dns():
    from components.model_dns import ModelDns, ModelDnsArgs

    args = ModelDnsArgs("models.internal", "vpc-1", "us-east-1", "ml-serving-dev", "ml-serving-dev", "1.21.1")
    rec = run_under_mocks(lambda: ModelDns("dns", args))
    zone = rec.get("aws:route53/zone:Zone", "dns-zone")
    assert zone.inputs["name"] == "models.internal"
    assert zone.inputs["vpcs"] == [{"vpcId": "vpc-1", "vpcRegion": "us-east-1"}]
    release = _releases(rec)["external-dns"]
    values = release.inputs["values"]
    assert values["sources"] == ["gateway-httproute"] and values["domainFilters"] == ["models.internal"]
    assert values["extraArgs"] == {"aws-zone-type": "private"} and values["txtOwnerId"] == "ml-serving-dev"
    policy = json.loads(rec.get("aws:iam/rolePolicy:RolePolicy", "dns-external-dns").inputs["policy"])
    changes = next(s for s in policy["Statement"] if s["Sid"] == "ManageModelRecords")
    assert changes["Resource"].startswith("arn:aws:route53:::hostedzone/Z")
    association = rec.get("aws:eks/podIdentityAssociation:PodIdentityAssociation", "dns-external-dns").inputs
    assert (association["namespace"], association["serviceAccount"]) == ("external-dns", "external-dns")
    assert association["clusterName"] == "ml-serving-dev"


def test_flagger_with_namespaced_rbac_and_its_alerts_after_the_chart():
    from components.rollout_actor import RolloutActor, RolloutActorArgs

    rec = run_under_mocks(lambda: RolloutActor("ra", RolloutActorArgs("1.44.0", "models", after=[Marker("monitoring")])))
    release = _releases(rec)["flagger"]
    assert (release.inputs["chart"], release.inputs["version"], release.inputs["namespace"]) == ("flagger", "1.44.0", "flagger-system")
    assert release.inputs["repositoryOpts"]["repo"] == "https://flagger.app"
    values = release.inputs["values"]
    assert values["meshProvider"] == "gatewayapi:v1" and values["namespace"] == "models" and values["rbac"] == {"create": False}
    actor = rec.get("ml-serving:rollout_actor:RolloutActor", "ra")
    roles = {r.inputs["metadata"]["namespace"]: r for r in rec.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role")}
    assert set(roles) == {"models", "flagger-system"}
    binding = rec.get("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "ra-rolebinding-flagger")
    assert binding.inputs["subjects"] == [{"kind": "ServiceAccount", "name": "flagger", "namespace": "flagger-system"}]
    rule = rec.get("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "ra-prometheusrule-flagger-rollouts")
    for child in (release, binding, rule, *roles.values()):
        assert child.parent == actor.urn
    assert release.urn in rule.depends_on and release.urn in binding.depends_on
    assert not rec.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
