"""Stable identities: every stack's resource URNs are committed, renames carry aliases, and
AWS-named resources that may be replaced take name prefixes so the new one comes first."""
import pytest

from components.preview.inventory import Identity, differences, read
from tests.conftest import STACK_NAMES

CA = "urn:pulumi:dev::ml-serving::ml-serving:cluster_autoscaler:ClusterAutoscaler"


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_the_committed_inventory_lists_every_urn(stack, previews):
    recorded = [Identity(r.engine_urn, tuple(r.alias_urns)) for r in previews(stack).recording.resources]
    problem = differences(stack, recorded, read(stack))
    assert problem is None, problem


def test_a_rename_without_an_alias_fails_and_says_how_to_keep_the_resource(previews):
    recorded = [Identity(r.engine_urn, tuple(r.alias_urns)) for r in previews("dev").recording.resources]
    committed = read("dev")
    old = f"{CA}$kubernetes:helm.sh/v3:Release::ml-serving-dev-cluster-autoscaler-release"
    new = f"{CA}$kubernetes:helm.sh/v3:Release::ml-serving-dev-cluster-autoscaler-chart"
    renamed = [Identity(new) if r.urn == old else r for r in recorded]
    assert differences("dev", renamed, committed) == (
        "the resource URNs of stack dev differ from tests/program/urns/dev.txt:\n"
        f"  added:   {new}\n"
        f"  removed: {old} (renamed without an alias? `pulumi up` would delete it and create {new}: give the new "
        "resource aliases=[pulumi.Alias(name='ml-serving-dev-cluster-autoscaler-release')])\n"
        "If the change is intended, run `make urns` and commit tests/program/urns/."
    )
    aliased = [Identity(new, (old,)) if r.urn == old else r for r in recorded]
    assert f"  removed: {old} (aliased by {new}: `pulumi up` moves it, nothing is replaced)" in differences(
        "dev", aliased, committed
    )


def test_a_missing_inventory_says_how_to_make_it():
    assert differences("new", [Identity("urn:pulumi:new::ml-serving::aws:s3/bucket:Bucket::b")], None) == (
        "tests/program/urns/new.txt does not exist: run `make urns` and commit it"
    )


def test_the_cluster_autoscaler_role_keeps_its_urns_from_before_pod_role(previews):
    # Commit c6e42f2 renamed them from -role, -policy and -identity to -aws.
    recording = previews("dev").recording
    by_urn = {r.engine_urn: r for r in recording.resources}
    for typ, old in (
        ("aws:iam/role:Role", "role"),
        ("aws:iam/rolePolicy:RolePolicy", "policy"),
        ("aws:eks/podIdentityAssociation:PodIdentityAssociation", "identity"),
    ):
        resource = by_urn[f"{CA}${typ}::ml-serving-dev-cluster-autoscaler-aws"]
        assert resource.alias_urns == [f"{CA}${typ}::ml-serving-dev-cluster-autoscaler-{old}"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_node_groups_are_named_by_prefix_so_a_replacement_comes_first(stack, previews):
    recording = previews(stack).recording
    groups = recording.of_type("aws:eks/nodeGroup:NodeGroup")
    assert groups
    for group in groups:
        assert "nodeGroupName" not in group.inputs
        assert group.inputs["nodeGroupNamePrefix"].endswith("-")
        assert group.ignore_changes == ["scalingConfig.desiredSize"]
    for template in recording.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        assert "name" not in template.inputs, "launch templates are auto-named by the engine"
    assert [r.name for r in recording.resources if r.delete_before_replace] == []


def test_prod_keeps_its_stateful_resources_protected(previews):
    recording = previews("prod").recording
    for typ in ("aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:eks/cluster:Cluster", "aws:ecr/repository:Repository"):
        found = recording.of_type(typ)
        assert found and all(r.protect for r in found), typ
