"""A replica across nodes: the LeaderWorkerSet group, its leaders' Service, scaling by whole
groups, and the edits the intent must refuse."""
from components.compilers.keda import scaled_object
from components.compilers.leader_worker_set import (
    group_disruption_budget,
    leader_service,
    leader_worker_set,
    scale_groups,
)
from components.compilers.rollout import served_versions
from components.intent.model import ModelSpec
from tests.factories import model_of
from tests.intent.helpers import errors_of

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-serving-vllm@sha256:" + "d" * 64


def _group(model=None):
    served = served_versions(model or model_of("prod", "llama-405b"))[0]
    return served, leader_worker_set(served, "h100", "us-east-1", IMAGE)


def test_one_group_per_replica_with_a_pipeline_stage_per_node(crd_validator):
    served, lws = _group()
    assert crd_validator(lws) == []
    spec = lws["spec"]
    assert spec["replicas"] == 1
    template = spec["leaderWorkerTemplate"]
    assert template["size"] == 2 and template["restartPolicy"] == "RecreateGroupOnPodRestart"
    leader = template["leaderTemplate"]["spec"]["containers"][0]
    worker = template["workerTemplate"]["spec"]["containers"][0]
    for container in (leader, worker):
        assert "--tensor-parallel-size=8" in container["args"] and "--pipeline-parallel-size=2" in container["args"]
        assert "--nnodes=2" in container["args"] and "--master-addr=$(LWS_LEADER_ADDRESS)" in container["args"]
        assert container["resources"]["limits"]["nvidia.com/gpu"] == "8", "each pod holds a whole node"
        assert container["image"] == IMAGE
    assert "--node-rank=0" in leader["args"] and "--headless" not in leader["args"]
    assert "--node-rank=$(NODE_RANK)" in worker["args"] and "--headless" in worker["args"]
    rank = next(e for e in worker["env"] if e["name"] == "NODE_RANK")
    assert rank["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.labels['leaderworkerset.sigs.k8s.io/worker-index']"
    assert "startupProbe" in leader and "startupProbe" not in worker, "only the leader serves HTTP"
    # Only leaders are scraped and selected as the version's replicas.
    assert template["leaderTemplate"]["metadata"]["labels"]["ml-serving/runtime"] == "vllm"
    assert "ml-serving/runtime" not in template["workerTemplate"]["metadata"]["labels"]
    assert template["leaderTemplate"]["spec"]["nodeSelector"] == template["workerTemplate"]["spec"]["nodeSelector"]


def test_requests_go_to_leaders_behind_the_versions_service():
    served, _ = _group()
    service = leader_service(served)
    assert service["metadata"]["name"] == "llama-405b-v1-predictor"
    assert service["spec"]["selector"] == {
        "leaderworkerset.sigs.k8s.io/name": "llama-405b-v1",
        "leaderworkerset.sigs.k8s.io/worker-index": "0",
    }


def test_keda_scales_whole_groups(crd_validator):
    served, _ = _group()
    scaled = scale_groups(scaled_object(served, "sum(vllm:num_requests_waiting)", None), served)
    assert scaled["spec"]["scaleTargetRef"] == {
        "apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet", "name": "llama-405b-v1"
    }
    assert crd_validator(scaled) == []
    budget = group_disruption_budget(served)
    assert budget["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": {"leaderworkerset.sigs.k8s.io/name": "llama-405b-v1"}}}


def test_the_two_node_model_fits_two_nodes_and_not_one():
    model = model_of("prod", "llama-405b")
    assert model.nodes_per_replica() == 2
    plan = model.memory_plan()
    assert plan.tensor_parallel == 8 and plan.num_layers == 63
    assert plan.fits
    one_node = model.model_dump(exclude_unset=True)
    one_node["gpus"] = 8
    message = errors_of(ModelSpec, one_node)[("instance_type",)]
    assert "94.5 GiB of weights per GPU with gpus=8" in message


def test_multi_node_edits_that_cannot_work_are_refused():
    base = model_of("prod", "llama-405b").model_dump(exclude_unset=True)
    assert "must be a multiple of 8" in errors_of(ModelSpec, {**base, "gpus": 12})[("gpus",)]
    idle = {**base, "autoscaling": {"scale_to_zero": True, "max_replicas": 1}}
    assert "spans 2 nodes" in errors_of(ModelSpec, idle)[("autoscaling", "scale_to_zero")]
    picker = {**base, "routing": {"balancer": "endpoint_picker"}}
    assert "leader" in errors_of(ModelSpec, picker)[("routing", "balancer")]
    warm = {**base, "autoscaling": {**base["autoscaling"], "max_replicas": 2, "warm_pool": 1}}
    assert "whole group" in errors_of(ModelSpec, warm)[("autoscaling", "warm_pool")]


# NCCL over EFA between a group's pipeline stages: what each pod must carry, and only group pods.
EFA_NCCL_ENV = {"FI_PROVIDER": "efa", "NCCL_NET_PLUGIN": "ofi", "NCCL_NET": "Libfabric"}
EFA_NCCL_NAMES = {*EFA_NCCL_ENV, "FI_EFA_USE_DEVICE_RDMA", "NCCL_PROTO", "LD_LIBRARY_PATH", "NCCL_SOCKET_IFNAME"}


def _env_of(container):
    return {e["name"]: e.get("value") for e in container["env"]}


def _group_containers(model=None):
    _, lws = _group(model)
    template = lws["spec"]["leaderWorkerTemplate"]
    return [template[role]["spec"]["containers"][0] for role in ("leaderTemplate", "workerTemplate")]


def test_every_pod_of_a_group_selects_the_ofi_plugin_and_its_efa_network():
    for container in _group_containers():
        env = _env_of(container)
        # NCCL_NET makes a group that cannot load the plugin fail at start (and alert) instead
        # of passing activations over NCCL's socket transport.
        assert {name: env.get(name) for name in EFA_NCCL_ENV} == EFA_NCCL_ENV
        # aws-ofi-nccl's cheatsheet: not to be set with libfabric >= 1.18 and the plugin >= 1.7
        # (our image: 2.7.0amzn2.0 and 1.22.0); the image, not the pod, puts the plugin on the path.
        assert "FI_EFA_USE_DEVICE_RDMA" not in env and "NCCL_PROTO" not in env
        assert "LD_LIBRARY_PATH" not in env
        assert [e["name"] for e in container["env"]].count("NCCL_NET") == 1


def test_the_same_settings_on_every_efa_instance_type_a_group_can_use():
    for instance_type, gpus in (("p5.48xlarge", 16), ("p5en.48xlarge", 16), ("p4d.24xlarge", 32), ("p4de.24xlarge", 16)):
        model = model_of("prod", "llama-405b", instance_type=instance_type, gpus=gpus)
        assert model.nodes_per_replica() > 1
        for container in _group_containers(model):
            assert {k: v for k, v in _env_of(container).items() if k in EFA_NCCL_NAMES} == EFA_NCCL_ENV


def test_single_node_vllm_pods_keep_nccl_defaults():
    from components.compilers.kserve import inference_service

    for name in ("llama-8b", "llama-70b"):
        served = served_versions(model_of("prod", name))[0]
        predictor = inference_service(served, "l40s", "us-east-1", False, IMAGE)["spec"]["predictor"]
        for container in [predictor["model"], *predictor.get("initContainers", [])]:
            assert not EFA_NCCL_NAMES & set(_env_of(container)), f"{name}: single-node pods load no NCCL plugin"
