"""What issue 3 and 4 promise to be in the dev and prod previews."""
import json

from tests.conftest import STACK_NAMES, stack_config

PLATFORM_CHARTS = {
    "kube-prometheus-stack", "keda", "cert-manager", "kserve-crd", "kserve", "nvidia-device-plugin",
    "dcgm-exporter", "cluster-autoscaler", "eg", "external-dns",
}


def _release_names(recording):
    return {r.inputs["name"] for r in recording.of_type("kubernetes:helm.sh/v3:Release")}


def test_dev_preview_has_the_whole_platform(previews):
    rec = previews("dev").recording
    assert PLATFORM_CHARTS | {"http-add-on"} == _release_names(rec)
    for typ in ("aws:ec2/vpc:Vpc", "aws:eks/cluster:Cluster", "aws:kms/key:Key", "aws:s3/bucket:Bucket", "aws:route53/zone:Zone",
                "aws:eks/podIdentityAssociation:PodIdentityAssociation", "pulumi:providers:kubernetes"):
        assert rec.of_type(typ), typ
    groups = {g.inputs["nodeGroupNamePrefix"] for g in rec.of_type("aws:eks/nodeGroup:NodeGroup")}
    assert groups == {"system-", "l4-"}


def test_dev_models_can_idle_at_zero(previews):
    rec = previews("dev").recording
    scaled = {s.inputs["metadata"]["name"]: s.inputs["spec"] for s in rec.of_type("kubernetes:keda.sh/v1alpha1:ScaledObject")}
    assert {name: spec.get("idleReplicaCount") for name, spec in scaled.items()} == {"llama-8b-v1": 0, "sentiment-v1": 0}
    assert len(rec.of_type("kubernetes:http.keda.sh/v1beta1:InterceptorRoute")) == 2


def test_prod_preview_shows_warm_replicas_pdbs_and_a_canary(previews):
    rec = previews("prod").recording
    assert "http-add-on" not in _release_names(rec), "nothing in prod idles to zero"
    isvcs = {i.inputs["metadata"]["name"]: i.inputs for i in rec.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService")}
    assert set(isvcs) == {"llama-8b-v1", "llama-8b-v2", "llama-70b-v1", "sentiment-v1"}
    assert isvcs["llama-8b-v1"]["spec"]["predictor"]["minReplicas"] == 5
    groups = {g.inputs["metadata"]["name"] for g in rec.of_type("kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet")}
    assert groups == {"llama-405b-v1"}, "the 405B model runs as a LeaderWorkerSet across two nodes"
    pdbs = {p.inputs["metadata"]["name"] for p in rec.of_type("kubernetes:policy/v1:PodDisruptionBudget")}
    assert pdbs == set(isvcs) | groups
    warm = rec.of_type("kubernetes:apps/v1:Deployment")
    assert [w.inputs["metadata"]["name"] for w in warm] == ["llama-8b-warm-pool"]
    # Flagger drives prod's llama canary: its Canary and target Service, no route of ours.
    routes = {r.inputs["metadata"]["name"] for r in rec.of_type("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")}
    assert "llama-8b" not in routes
    canary = next(c for c in rec.of_type("kubernetes:flagger.app/v1beta1:Canary"))
    assert canary.inputs["spec"]["analysis"]["stepWeights"] == [10, 25, 50, 100]
    target = next(s for s in rec.of_type("kubernetes:core/v1:Service") if s.inputs["metadata"]["name"] == "llama-8b")
    assert target.inputs["spec"]["selector"] == {"serving.kserve.io/inferenceservice": "llama-8b-v2"}
    assert "flagger" in _release_names(rec)
    scaled = {s.inputs["metadata"]["name"] for s in rec.of_type("kubernetes:keda.sh/v1alpha1:ScaledObject")}
    assert {"llama-8b-v1", "llama-8b-v2"} <= scaled
    assert not any("idleReplicaCount" in s.inputs["spec"] for s in rec.of_type("kubernetes:keda.sh/v1alpha1:ScaledObject"))


def test_stateful_resources_are_protected_in_prod(previews):
    rec = previews("prod").recording
    for typ in ("aws:s3/bucket:Bucket", "aws:eks/cluster:Cluster", "aws:kms/key:Key"):
        for resource in rec.of_type(typ):
            assert resource.protect, f"{typ} {resource.name} is not protected"
    for stack in ("dev", "prod"):
        for resource in previews(stack).recording.of_type("aws:s3/bucket:Bucket"):
            assert resource.retain_on_delete, "model weights survive a destroy in every environment"


def test_no_iam_star_on_star(previews):
    for stack in STACK_NAMES:
        if stack_config(stack)["ml-serving:target"] != "eks":
            continue
        for resource in previews(stack).recording.resources:
            if resource.type in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
                for statement in json.loads(resource.inputs["policy"])["Statement"]:
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    resources = statement.get("Resource", [])
                    resources = resources if isinstance(resources, list) else [resources]
                    assert not ("*" in actions and "*" in resources), f"{stack}: {resource.name} grants * on *"
                    assert "*" not in actions, f"{stack}: {resource.name} grants every action"
