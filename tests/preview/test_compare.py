"""The offline diff's decisions, on real recordings edited the way a stack-file change would:
replacements and their reasons, renames with and without aliases, guarded changes."""
from __future__ import annotations

import copy
import json

import pytest

from components.preview import compare, guard
from components.preview.diff import build_diff
from components.preview.replacements import replace_on_change
from tests.conftest import STACK_NAMES, stack_config


def _build(previews, stack: str) -> compare.Build:
    result = previews(stack)
    config = stack_config(stack)
    return compare.Build(
        stack=stack,
        resources=json.loads(json.dumps([r.as_json() for r in result.recording.resources])),
        cost=copy.deepcopy(result.cost),
        policy=result.policy.as_json(),
        models=copy.deepcopy(config["ml-serving:models"]),
        environment=config["ml-serving:environment"],
    )


@pytest.fixture
def prod(previews):
    return _build(previews, "prod")


def _named(build: compare.Build, typ: str, name: str) -> dict:
    return next(r for r in build.resources if r["type"] == typ and r["name"] == name)


def _diff(base, head):
    return build_diff(base.stack, "0" * 40, base, head)


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_resource_type_we_create_has_its_replace_on_change_properties(stack, previews):
    unknown = {r.type for r in previews(stack).recording.resources if replace_on_change(r.type) is None}
    assert unknown == set()


def test_an_unchanged_stack_has_an_empty_diff(prod):
    diff = _diff(prod, copy.deepcopy(prod))
    assert (diff["added"], diff["removed"], diff["replaced"], diff["changed"], diff["guarded"]) == ([], [], [], [], [])
    assert diff["cost"] == {"idle_delta_usd_month": 0.0, "busy_delta_usd_month": 0.0}


def test_changing_a_gpu_pools_instance_types_replaces_its_node_group_and_says_why(prod):
    head = copy.deepcopy(prod)
    group = _named(head, "aws:eks/nodeGroup:NodeGroup", "ml-serving-prod-gpu-l4-nodes")
    group["inputs"]["instanceTypes"] = ["g6.2xlarge"]
    diff = _diff(prod, head)
    urn = ("urn:pulumi:prod::ml-serving::ml-serving:cluster:Cluster$ml-serving:node_group:NodeGroup"
           "$aws:eks/nodeGroup:NodeGroup::ml-serving-prod-gpu-l4-nodes")
    assert diff["replaced"][0] == {
        "urn": urn, "why": 'instanceTypes changed (["g6.xlarge"] -> ["g6.2xlarge"]), which forces replacement'
    }
    # The new group has a new Auto Scaling group: its node-template tags go with it.
    cascaded = diff["replaced"][1:]
    assert len(cascaded) == len([r for r in prod.resources if r["type"] == "aws:autoscaling/tag:Tag"
                                 and r["name"].startswith("ml-serving-prod-gpu-l4-")])
    assert {r["why"] for r in cascaded} == {
        "autoscalingGroupName comes from ml-serving-prod-gpu-l4-nodes, which is replaced or new"
    }
    assert diff["guarded"] == [{
        "what": "node-group:l4",
        "why": "replacing node group l4 drains the nodes models sentiment run on "
               '(instanceTypes changed (["g6.xlarge"] -> ["g6.2xlarge"]), which forces replacement)',
    }]


def test_an_in_place_change_lists_its_paths_and_ignores_what_the_autoscaler_owns(prod):
    head = copy.deepcopy(prod)
    group = _named(head, "aws:eks/nodeGroup:NodeGroup", "ml-serving-prod-gpu-l4-nodes")
    group["inputs"]["scalingConfig"]["maxSize"] = 5
    group["inputs"]["scalingConfig"]["desiredSize"] = 3
    diff = _diff(prod, head)
    assert diff["replaced"] == [] and diff["guarded"] == []
    assert [c["paths"] for c in diff["changed"]] == [["scalingConfig.maxSize"]]


def test_a_rename_without_an_alias_is_a_replacement_and_with_one_a_move(prod):
    head = copy.deepcopy(prod)
    bucket = _named(head, "aws:s3/bucket:Bucket", "ml-serving-prod-models-bucket")
    old_urn = compare.engine_urns(prod.resources)[bucket["urn"]]
    bucket["name"] = "ml-serving-prod-weights"
    bucket["urn"] = bucket["urn"].replace("ml-serving-prod-models-bucket", "ml-serving-prod-weights")
    diff = _diff(prod, head)
    assert [r["why"] for r in diff["replaced"]] == ["renamed from ml-serving-prod-models-bucket without an alias"]
    assert diff["added"] == [] and diff["removed"] == []
    assert diff["guarded"] == [{
        "what": "bucket:models-bucket",
        "why": "replacing ml-serving-prod-models-bucket loses its objects (model weights, captured requests) "
               "(renamed from ml-serving-prod-models-bucket without an alias)",
    }]
    bucket["aliasUrns"] = [old_urn]
    diff = _diff(prod, head)
    assert diff["replaced"] == [] and diff["guarded"] == []
    assert diff["changed"] == [{"urn": old_urn.replace("ml-serving-prod-models-bucket", "ml-serving-prod-weights"),
                                "paths": [f"urn (aliased from {old_urn})"]}]


def test_removing_a_model_and_its_stateful_resources_is_guarded_in_prod_not_in_dev(prod):
    head = copy.deepcopy(prod)
    head.models = [m for m in head.models if m["name"] != "sentiment"]
    head.resources = [r for r in head.resources if r["type"] != "aws:ecr/repository:Repository" or "triton" not in r["name"]]
    diff = _diff(prod, head)
    assert diff["models"] == {"added": [], "removed": ["sentiment"], "changed": []}
    whats = [g["what"] for g in diff["guarded"]]
    assert whats == ["model:sentiment", "ecr-repository:images-triton"]
    assert guard.unacknowledged(diff["guarded"], guard.parse_allowed("model:sentiment, ecr-repository:images-triton")) == []
    assert guard.unacknowledged(diff["guarded"], guard.parse_allowed("model:sentiment")) == diff["guarded"][1:]
    base, head = copy.deepcopy(prod), copy.deepcopy(head)
    base.environment = head.environment = "dev"
    assert _diff(base, head)["guarded"] == []


def test_moving_a_prod_stack_to_dev_keeps_the_guard(prod):
    head = copy.deepcopy(prod)
    head.environment = "dev"
    head.models = head.models[:1]
    assert [g["what"] for g in _diff(prod, head)["guarded"]] == ["model:llama-405b", "model:llama-70b", "model:sentiment"]


def test_a_model_change_names_its_fields(prod):
    head = copy.deepcopy(prod)
    head.models[0]["autoscaling"]["max_replicas"] = 6
    assert _diff(prod, head)["models"]["changed"] == [{"name": "llama-8b", "paths": ["autoscaling.max_replicas"]}]


def test_a_pool_shrunk_below_its_models_busy_load_is_guarded(prod):
    head = copy.deepcopy(prod)
    group = _named(head, "aws:eks/nodeGroup:NodeGroup", "ml-serving-prod-gpu-l40s-nodes")
    busy = head.cost["models"]["llama-8b"]["busy_replicas"]
    base = group["inputs"]["scalingConfig"]["maxSize"]
    group["inputs"]["scalingConfig"]["maxSize"] = busy - 1
    assert _diff(prod, head)["guarded"] == [{
        "what": "node-group:l40s",
        "why": f"max_size of pool l40s shrinks from {base} to {busy - 1} nodes, below the {busy} its models need at "
               f"their planned busy load (llama-8b {busy} x 1 GPU; 1 GPU(s) per node)",
    }]
    group["inputs"]["scalingConfig"]["maxSize"] = busy
    assert _diff(prod, head)["guarded"] == []


def test_cost_slo_and_policy_deltas(prod):
    head = copy.deepcopy(prod)
    head.cost["idle"]["monthly_usd"] += 100.255
    head.cost["models"]["llama-8b"]["simulated"]["slo_attainment"] = 0.5
    head.policy["violations"] = [{"policy": "p", "enforcement": "mandatory", "type": "t", "name": "n", "urn": "", "message": "m"}]
    diff = _diff(prod, head)
    assert diff["cost"] == {
        "idle_delta_usd_month": round(head.cost["idle"]["monthly_usd"] - prod.cost["idle"]["monthly_usd"], 2),
        "busy_delta_usd_month": 0.0,
    }
    assert diff["slo"]["llama-8b"]["after"]["attainment"] == 0.5
    assert diff["slo"]["llama-8b"]["before"]["attainment"] == prod.cost["models"]["llama-8b"]["simulated"]["slo_attainment"]
    assert diff["policy"]["new_violations"] == head.policy["violations"]


def test_the_diff_has_exactly_the_documented_shape(prod):
    diff = _diff(prod, copy.deepcopy(prod))
    assert set(diff) == {"stack", "base", "added", "removed", "replaced", "changed", "models", "cost", "slo", "policy", "guarded",
                         "node_rolls"}
    assert set(diff["models"]) == {"added", "removed", "changed"}
    assert set(diff["cost"]) == {"idle_delta_usd_month", "busy_delta_usd_month"}
    assert set(diff["policy"]) == {"new_violations"}
    assert all(set(v) == {"before", "after"} for v in diff["slo"].values())


def test_cluster_encryption_forces_a_new_cluster_only_when_taken_away(prod):
    head = copy.deepcopy(prod)
    cluster = _named(head, "aws:eks/cluster:Cluster", "ml-serving-prod-eks")
    cluster["inputs"]["vpcConfig"]["endpointPublicAccess"] = not cluster["inputs"]["vpcConfig"].get("endpointPublicAccess")
    assert _diff(prod, head)["replaced"] == []
    del cluster["inputs"]["encryptionConfig"]
    diff = _diff(prod, head)
    why = {r["urn"].rsplit("::", 1)[1]: r["why"] for r in diff["replaced"]}
    assert why["ml-serving-prod-eks"].startswith("encryptionConfig changed")
    # A new cluster takes new node groups, add-ons and access entries with it.
    assert why["ml-serving-prod-gpu-l4-nodes"] == "clusterName comes from ml-serving-prod-eks, which is replaced or new"
    whats = [g["what"] for g in diff["guarded"]]
    assert whats[0] == "cluster:eks" and "node-group:l40s" in whats


def test_a_replacement_replaces_what_is_built_from_its_outputs(prod):
    # A new VPC CIDR: new VPC, new subnets, and node groups on them.
    head = copy.deepcopy(prod)
    _named(head, "aws:ec2/vpc:Vpc", "ml-serving-prod-vpc")["inputs"]["cidrBlock"] = "10.43.0.0/16"
    diff = _diff(prod, head)
    why = {compare._split(r["urn"])[1:]: r["why"] for r in diff["replaced"]}
    assert why[("aws:ec2/vpc:Vpc", "ml-serving-prod-vpc")] == (
        "cidrBlock changed (10.42.0.0/16 -> 10.43.0.0/16), which forces replacement"
    )
    assert why[("aws:ec2/subnet:Subnet", "ml-serving-prod-private-us-east-1a")] == (
        "vpcId comes from ml-serving-prod-vpc, which is replaced or new"
    )
    assert why[("aws:eks/nodeGroup:NodeGroup", "ml-serving-prod-gpu-l4-nodes")].startswith(
        "subnetIds comes from ml-serving-prod-private-us-east-1"
    )
    whats = [g["what"] for g in diff["guarded"]]
    assert "vpc:vpc" in whats and "node-group:l4" in whats


def test_another_region_replaces_everything_its_provider_manages(prod):
    head = copy.deepcopy(prod)
    provider = _named(head, "pulumi:providers:aws", "aws")
    provider["inputs"]["region"] = "us-west-2"
    diff = _diff(prod, head)
    why = {compare._split(r["urn"])[1:]: r["why"] for r in diff["replaced"]}
    assert why[("pulumi:providers:aws", "aws")] == "region changed (us-east-1 -> us-west-2), which forces replacement"
    assert why[("aws:s3/bucket:Bucket", "ml-serving-prod-models-bucket")] == "its provider aws is replaced"
    # The new cluster's kubeconfig is another provider: the in-cluster objects go with it.
    assert why[("pulumi:providers:kubernetes", "ml-serving-prod-k8s")].startswith("kubeconfig comes from")
    assert why[("kubernetes:serving.kserve.io/v1beta1:InferenceService", "ml-serving-prod-model-sentiment-inferenceservice-sentiment-v1")] == (
        "its provider ml-serving-prod-k8s is replaced"
    )
    whats = {g["what"] for g in diff["guarded"]}
    assert {"bucket:models-bucket", "cluster:eks", "kms-key:key", "vpc:vpc", "node-group:l4"} <= whats


# --- node rolls: in-place changes EKS applies by replacing every node of a pool ---------------


def _template(build: compare.Build, pool: str) -> dict:
    return _named(build, "aws:ec2/launchTemplate:LaunchTemplate", f"ml-serving-prod-gpu-{pool}-template")


def test_a_launch_template_change_rolls_its_pool_and_names_the_models_it_restarts(prod):
    from components.compilers.node_bootstrap import user_data
    from components.intent.cluster import GpuNodePool

    head = copy.deepcopy(prod)
    # What turning instance_store raid0 on for l40s-x4 does to its template.
    pool = next(p for p in stack_config("prod")["ml-serving:cluster"]["gpu_pools"] if p["name"] == "l40s-x4")
    levers = {**pool["cold_start"], "instance_store": "raid0"}
    _template(head, "l40s-x4")["inputs"]["userData"] = user_data(GpuNodePool.model_validate({**pool, "cold_start": levers}))
    diff = _diff(prod, head)
    # Nothing is replaced or guarded: nodes are not what a stack stores.
    assert diff["replaced"] == [] and diff["guarded"] == []
    assert diff["node_rolls"] == [
        {"pool": "l40s-x4", "models": ["llama-70b"], "why": "its launch template's userData changes"}
    ]
    from components.preview.diff_report import render

    markdown = render(diff, set(), "prod")
    assert "- Node rolls: EKS replaces these pools' nodes one at a time" in markdown
    assert "  - `l40s-x4` (llama-70b): its launch template's userData changes" in markdown


def test_a_group_spread_over_nodes_is_named_on_its_pool(prod):
    head = copy.deepcopy(prod)
    _template(head, "h100")["inputs"]["blockDeviceMappings"][0]["ebs"]["volumeSize"] += 100
    rolls = _diff(prod, head)["node_rolls"]
    # The 405B replica is a LeaderWorkerSet across two nodes, not an InferenceService.
    assert [(r["pool"], r["models"]) for r in rolls] == [("h100", ["llama-405b"])]
    assert rolls[0]["why"] == (
        "its launch template's blockDeviceMappings.0.ebs.volumeSize changes; llama-405b spans nodes as "
        "LeaderWorkerSet groups, and each group restarts whole when any of its nodes is drained"
    )


def test_template_tags_and_unchanged_stacks_roll_nothing(prod):
    head = copy.deepcopy(prod)
    _template(head, "l4")["inputs"].setdefault("tags", {})["cost-centre"] = "ml"
    diff = _diff(prod, head)
    assert diff["changed"] and diff["node_rolls"] == []
    from components.preview.diff_report import render

    assert "- Node rolls: none" in render(diff, set(), "prod")
    assert _diff(prod, copy.deepcopy(prod))["node_rolls"] == []


def test_a_replaced_node_group_is_the_guards_not_a_roll(prod):
    head = copy.deepcopy(prod)
    _named(head, "aws:eks/nodeGroup:NodeGroup", "ml-serving-prod-gpu-l4-nodes")["inputs"]["instanceTypes"] = ["g6.2xlarge"]
    _template(head, "l4")["inputs"]["userData"] = "changed"
    diff = _diff(prod, head)
    assert diff["node_rolls"] == [] and [g["what"] for g in diff["guarded"]] == ["node-group:l4"]


def test_replacing_the_pool_a_group_across_nodes_runs_on_is_guarded(prod):
    # llama-405b is a LeaderWorkerSet on h100, not an InferenceService: replacing its nodes
    # must stop for acknowledgement like any other pool models run on.
    head = copy.deepcopy(prod)
    _named(head, "aws:eks/nodeGroup:NodeGroup", "ml-serving-prod-gpu-h100-nodes")["inputs"]["instanceTypes"] = ["p5e.48xlarge"]
    assert _diff(prod, head)["guarded"] == [{
        "what": "node-group:h100",
        "why": "replacing node group h100 drains the nodes models llama-405b run on "
               '(instanceTypes changed (["p5.48xlarge"] -> ["p5e.48xlarge"]), which forces replacement)',
    }]
