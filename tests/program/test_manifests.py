"""Every Kubernetes object the EKS stacks create validates against its real schema."""
import kubernetes_validate
import pytest

from components.preview.manifests import is_kubernetes_object, manifest
from tests.conftest import STACK_NAMES, stack_config

EKS_STACKS = [s for s in STACK_NAMES if stack_config(s)["ml-serving:target"] == "eks"]
# Kinds whose CRDs are not among ../shared/schemas (Gateway API and Envoy Gateway ship
# with the Envoy Gateway chart, InterceptorRoute with the KEDA HTTP add-on). They were
# checked by hand against those projects' CRDs at the pinned versions.
UNSCHEMATISED = {
    ("gateway.networking.k8s.io/v1", "GatewayClass"),
    ("gateway.networking.k8s.io/v1", "Gateway"),
    ("gateway.networking.k8s.io/v1beta1", "ReferenceGrant"),
    ("gateway.envoyproxy.io/v1alpha1", "EnvoyProxy"),
    ("http.keda.sh/v1beta1", "InterceptorRoute"),
}
CUSTOM_GROUPS = ("serving.kserve.io", "keda.sh", "monitoring.coreos.com", "karpenter", "flagger.app", "leaderworkerset.x-k8s.io")
# Kinds validated against ../shared/schemas although their group is listed as unschematised.
SCHEMATISED_KINDS = {("gateway.networking.k8s.io/v1", "HTTPRoute")}


def _objects(previews, stack):
    return [manifest(r) for r in previews(stack).recording.resources if is_kubernetes_object(r)]


@pytest.mark.parametrize("stack", EKS_STACKS)
def test_custom_resources_validate_strictly_against_the_shared_crds(stack, previews, crd_validator):
    checked = 0
    for doc in _objects(previews, stack):
        if doc["apiVersion"].split("/")[0] in CUSTOM_GROUPS or (doc["apiVersion"], doc["kind"]) in SCHEMATISED_KINDS:
            errors = crd_validator(doc)
            assert not errors, f"{doc['kind']}/{doc['metadata']['name']}: {errors}"
            checked += 1
    assert checked >= 8


@pytest.mark.parametrize("stack", EKS_STACKS)
def test_built_in_objects_validate_with_kubernetes_validate(stack, previews, builtin_validator):
    version = previews(stack).spec.cluster.kubernetes_version
    for doc in _objects(previews, stack):
        group = doc["apiVersion"].split("/")[0]
        if group in CUSTOM_GROUPS or (doc["apiVersion"], doc["kind"]) in UNSCHEMATISED | SCHEMATISED_KINDS:
            continue
        try:
            builtin_validator(doc, version)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{doc['kind']}/{doc['metadata'].get('name')}: {error}")


@pytest.mark.parametrize("stack", EKS_STACKS)
def test_no_kind_escapes_validation(stack, previews):
    for doc in _objects(previews, stack):
        group = doc["apiVersion"].split("/")[0]
        known_builtin = "." not in group or group.endswith(".k8s.io") and not group.startswith("gateway.")
        kind = (doc["apiVersion"], doc["kind"])
        assert group in CUSTOM_GROUPS or kind in UNSCHEMATISED | SCHEMATISED_KINDS or known_builtin, doc["kind"]
