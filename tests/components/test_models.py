"""ServingRuntimes and ModelDeployment under recording mocks."""
from components.model_deployment import ModelDeployment, ModelDeploymentArgs
from components.preview.engine import run_under_mocks
from components.serving_runtimes import ServingRuntimes, ServingRuntimesArgs
from tests.components.test_addons import Marker
from tests.factories import manual_canary_of, model_of

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-serving-vllm@sha256:" + "c" * 64


def _deploy(model, pool="l40s"):
    def program():
        ModelDeployment(
            "m",
            ModelDeploymentArgs(model=model, pool_name=pool, surge=True, region="us-east-1", domain="models.internal",
                                image=IMAGE, after=[Marker("runtimes")]),
        )

    return run_under_mocks(program)


def test_a_canary_in_flight_deploys_both_versions_each_scaled_and_protected():
    rec = _deploy(manual_canary_of("prod", "llama-8b", routing={"balancer": "endpoint_picker"}))
    component = rec.get("ml-serving:model_deployment:ModelDeployment", "m")
    kinds = sorted((r.type.rsplit(":", 1)[-1], r.name) for r in rec.resources if r.parent == component.urn)
    assert kinds == [
        ("Deployment", "m-deployment-llama-8b-warm-pool"),
        ("HTTPRoute", "m-httproute-llama-8b"),
        ("InferenceService", "m-inferenceservice-llama-8b-v1"),
        ("InferenceService", "m-inferenceservice-llama-8b-v2"),
        ("PodDisruptionBudget", "m-poddisruptionbudget-llama-8b-v1"),
        ("PodDisruptionBudget", "m-poddisruptionbudget-llama-8b-v2"),
        ("PrometheusRule", "m-prometheusrule-llama-8b-alerts"),
        ("Release", "m-v1-picker"),
        ("Release", "m-v2-picker"),
        ("ScaledObject", "m-scaledobject-llama-8b-v1"),
        ("ScaledObject", "m-scaledobject-llama-8b-v2"),
    ]
    route = rec.get("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "m-httproute-llama-8b")
    assert [b["weight"] for b in route.inputs["spec"]["rules"][0]["backendRefs"]] == [90, 10]
    v2 = rec.get("kubernetes:serving.kserve.io/v1beta1:InferenceService", "m-inferenceservice-llama-8b-v2")
    assert v2.urn in route.depends_on
    runtimes = rec.get("random:index/randomString:RandomString", "runtimes").urn
    assert runtimes in v2.depends_on
    scaled = rec.get("kubernetes:keda.sh/v1alpha1:ScaledObject", "m-scaledobject-llama-8b-v2")
    assert v2.urn in scaled.depends_on
    placeholders = rec.get("kubernetes:apps/v1:Deployment", "m-deployment-llama-8b-warm-pool")
    assert placeholders.inputs["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE


def test_an_idling_model_gets_an_interceptor_route():
    rec = _deploy(model_of("dev", "llama-8b"), pool="l4")
    route = rec.get("kubernetes:http.keda.sh/v1beta1:InterceptorRoute", "m-interceptorroute-llama-8b-v1")
    assert route.inputs["spec"]["target"]["service"] == "llama-8b-v1-predictor"
    scaled = rec.get("kubernetes:keda.sh/v1alpha1:ScaledObject", "m-scaledobject-llama-8b-v1")
    assert scaled.inputs["spec"]["idleReplicaCount"] == 0
    assert not rec.of_type("kubernetes:apps/v1:Deployment")


def test_runtimes_with_monitors_and_dashboards():
    def program():
        ServingRuntimes("rt", ServingRuntimesArgs(images={"vllm": IMAGE, "triton": IMAGE}, kserve=Marker("kserve"), monitoring=Marker("kps")))

    rec = run_under_mocks(program)
    runtime = rec.get("kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime", "rt-clusterservingruntime-ml-serving-vllm")
    assert runtime.inputs["spec"]["containers"][0]["image"] == IMAGE
    assert rec.get("random:index/randomString:RandomString", "kserve").urn in runtime.depends_on
    assert {m.inputs["metadata"]["name"] for m in rec.of_type("kubernetes:monitoring.coreos.com/v1:PodMonitor")} == {
        "ml-serving-vllm", "ml-serving-triton"
    }
    assert {c.inputs["metadata"]["name"] for c in rec.of_type("kubernetes:core/v1:ConfigMap")} == {
        "ml-serving-vllm-dashboard", "ml-serving-triton-dashboard"
    }


def test_pod_monitors_wait_for_their_namespace():
    def program():
        ServingRuntimes("rt", ServingRuntimesArgs(images={"vllm": IMAGE}, kserve=Marker("kserve"), monitoring=Marker("kps"),
                                                  after=[Marker("namespace")]))

    rec = run_under_mocks(program)
    monitor = rec.get("kubernetes:monitoring.coreos.com/v1:PodMonitor", "rt-podmonitor-ml-serving-vllm")
    assert rec.get("random:index/randomString:RandomString", "namespace").urn in monitor.depends_on


def test_a_model_across_nodes_deploys_a_group_its_leaders_service_and_group_scaling():
    rec = _deploy(model_of("prod", "llama-405b"), pool="h100")
    component = rec.get("ml-serving:model_deployment:ModelDeployment", "m")
    kinds = sorted((r.type.rsplit(":", 1)[-1], r.name) for r in rec.resources if r.parent == component.urn)
    assert kinds == [
        ("HTTPRoute", "m-httproute-llama-405b"),
        ("LeaderWorkerSet", "m-leaderworkerset-llama-405b-v1"),
        ("PodDisruptionBudget", "m-poddisruptionbudget-llama-405b-v1"),
        ("PrometheusRule", "m-prometheusrule-llama-405b-alerts"),
        ("ScaledObject", "m-scaledobject-llama-405b-v1"),
        ("Service", "m-service-llama-405b-v1-predictor"),
    ]
    group = rec.get("kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet", "m-leaderworkerset-llama-405b-v1")
    scaled = rec.get("kubernetes:keda.sh/v1alpha1:ScaledObject", "m-scaledobject-llama-405b-v1")
    assert scaled.inputs["spec"]["scaleTargetRef"]["kind"] == "LeaderWorkerSet"
    assert group.urn in scaled.depends_on
    route = rec.get("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "m-httproute-llama-405b")
    assert route.inputs["spec"]["rules"][0]["backendRefs"][0]["name"] == "llama-405b-v1-predictor"
    assert group.urn in route.depends_on


def test_the_leader_worker_set_controller_installs_its_pinned_chart():
    from components.leader_worker_set import LeaderWorkerSetController, LeaderWorkerSetControllerArgs

    rec = run_under_mocks(lambda: LeaderWorkerSetController("lws", LeaderWorkerSetControllerArgs(after=[Marker("ready")])))
    component = rec.get("ml-serving:leader_worker_set:LeaderWorkerSetController", "lws")
    release = rec.get("kubernetes:helm.sh/v3:Release", "lws-lws")
    assert release.parent == component.urn
    assert release.inputs["chart"] == "oci://registry.k8s.io/lws/charts/lws"
    assert release.inputs["version"] == "v0.10.0"
    assert (release.inputs["name"], release.inputs["namespace"]) == ("lws", "lws-system")
    assert rec.get("random:index/randomString:RandomString", "ready").urn in release.depends_on
def test_an_automated_model_hands_its_route_to_flagger_in_a_safe_order():
    def program():
        ModelDeployment(
            "m",
            ModelDeploymentArgs(model=model_of("prod", "llama-8b"), pool_name="l40s", surge=False, region="us-east-1",
                                domain="models.internal", image=IMAGE, after=[Marker("runtimes")],
                                rollout_actor=Marker("flagger")),
        )

    rec = run_under_mocks(program)
    component = rec.get("ml-serving:model_deployment:ModelDeployment", "m")
    assert not rec.of_type("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
    primary = rec.get("kubernetes:core/v1:Service", "m-service-llama-8b-primary")
    target = rec.get("kubernetes:core/v1:Service", "m-service-llama-8b")
    canary = rec.get("kubernetes:flagger.app/v1beta1:Canary", "m-canary-llama-8b")
    templates = rec.of_type("kubernetes:flagger.app/v1beta1:MetricTemplate")
    assert len(templates) == 5 and all(t.parent == component.urn for t in (primary, target, canary, *templates))
    # Primary before the Canary (Flagger's baseline), the Canary's plan before the target changes.
    assert primary.urn in canary.depends_on and canary.urn in target.depends_on
    assert all(t.urn in canary.depends_on for t in templates)
    flagger = rec.get("random:index/randomString:RandomString", "flagger")
    assert flagger.urn in primary.depends_on


def test_an_automated_model_needs_the_rollout_actor():
    import pytest

    with pytest.raises(Exception, match="no rollout actor was installed"):
        _deploy(model_of("prod", "llama-8b"))
