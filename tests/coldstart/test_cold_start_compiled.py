"""The levers as the real infrastructure gets them: launch-template user data and pod volumes."""
from __future__ import annotations

import base64
import copy
import email

import pytest
import yaml

from components.cluster import Cluster, ClusterArgs
from components.compilers import node_bootstrap
from components.compilers.kserve import inference_service
from components.compilers.node_groups import gpu_shape
from components.compilers.rollout import served_versions
from components.intent.cluster import GpuNodePool
from components.preview.engine import run_under_mocks
from tests.factories import model_of, spec_of

POOL = {"name": "l40s", "instance_types": ["g6e.xlarge"], "max_size": 4}


def _pool(**cold_start) -> GpuNodePool:
    return GpuNodePool.model_validate({**POOL, "cold_start": cold_start})


def _parts(pool: GpuNodePool) -> dict[str, str]:
    """The user data as an email parser (cloud-init's view) reads it: {content type: body}."""
    text = base64.b64decode(gpu_shape(pool).user_data).decode()
    message = email.message_from_string(text)
    assert message.is_multipart() and message.get_content_type() == "multipart/mixed"
    return {part.get_content_type(): part.get_payload() for part in message.get_payload()}


def test_no_lever_no_user_data():
    # EKS then writes the node's user data itself; an empty template field keeps that.
    assert gpu_shape(_pool()).user_data is None and node_bootstrap.node_cache_dir(_pool()) is None


def test_soci_parallel_is_nodeadms_fast_image_pull_gate():
    parts = _parts(_pool(image_pull="soci_parallel"))
    assert set(parts) == {"application/node.eks.aws"}
    config = yaml.safe_load(parts["application/node.eks.aws"])
    assert config == {
        "apiVersion": "node.eks.aws/v1alpha1",
        "kind": "NodeConfig",
        "spec": {"featureGates": {"FastContainerImagePull": True}},
    }


def test_raid0_is_nodeadms_local_storage_strategy():
    config = yaml.safe_load(_parts(_pool(instance_store="raid0"))["application/node.eks.aws"])
    assert config["spec"] == {"instance": {"localStorage": {"strategy": "RAID0"}}}


def test_node_compile_cache_makes_a_directory_only_the_serving_user_owns():
    parts = _parts(_pool(compile_cache="node"))
    assert set(parts) == {"text/x-shellscript"}
    script = parts["text/x-shellscript"]
    assert script.startswith("#!/bin/bash\nset -euo pipefail\n")
    assert "install -d -m 0700 -o 1000 -g 1000 /var/lib/ml-serving/cache" in script
    assert node_bootstrap.node_cache_dir(_pool(compile_cache="node")) == "/var/lib/ml-serving/cache"


def test_with_raid0_the_node_cache_sits_on_the_nvme_array():
    pool = _pool(image_pull="soci_parallel", instance_store="raid0", compile_cache="node")
    parts = _parts(pool)
    assert set(parts) == {"application/node.eks.aws", "text/x-shellscript"}
    assert node_bootstrap.node_cache_dir(pool) == "/mnt/k8s-disks/0/ml-serving/cache"
    assert "/mnt/k8s-disks/0/ml-serving/cache" in parts["text/x-shellscript"]
    spec = yaml.safe_load(parts["application/node.eks.aws"])["spec"]
    assert spec == {"featureGates": {"FastContainerImagePull": True}, "instance": {"localStorage": {"strategy": "RAID0"}}}


def _volumes(node_cache):
    model = model_of("prod", "llama-8b")
    predictor = inference_service(served_versions(model)[0], "l40s", "us-east-1", False, node_cache=node_cache)["spec"]["predictor"]
    return {v["name"]: v for v in predictor["volumes"]}, {m["name"]: m["mountPath"] for m in predictor["model"]["volumeMounts"]}


def test_pod_cache_is_an_emptydir_without_the_lever():
    volumes, mounts = _volumes(None)
    assert volumes["cache"] == {"name": "cache", "emptyDir": {}} and mounts["cache"] == "/cache"


def test_node_cache_is_a_hostpath_that_must_already_exist():
    volumes, mounts = _volumes("/var/lib/ml-serving/cache")
    assert volumes["cache"] == {"name": "cache", "hostPath": {"path": "/var/lib/ml-serving/cache", "type": "Directory"}}
    # Still mounted where HOME, HF_HOME and VLLM_CACHE_ROOT point; /tmp and /dev/shm stay per pod.
    assert mounts["cache"] == "/cache"
    assert volumes["tmp"] == {"name": "tmp", "emptyDir": {}} and volumes["dshm"]["emptyDir"]["medium"] == "Memory"


def _model_env(model, node_cache, cache_s3_weights):
    served = served_versions(model)[0]
    predictor = inference_service(served, "l40s", "us-east-1", False, node_cache=node_cache, cache_s3_weights=cache_s3_weights)
    return {e["name"]: e.get("value") for e in predictor["spec"]["predictor"]["model"]["env"]}


def test_s3_weights_are_kept_in_the_node_cache_only_on_the_nvme_array():
    on_nvme = _pool(instance_store="raid0", compile_cache="node")
    assert node_bootstrap.caches_s3_weights(on_nvme)
    # The root volume is sized for images and logs, not for a copy of every model's weights.
    assert not node_bootstrap.caches_s3_weights(_pool(compile_cache="node"))
    assert not node_bootstrap.caches_s3_weights(_pool(instance_store="raid0"))
    model = model_of("prod", "llama-8b")
    assert model.source.startswith("s3://")
    env = _model_env(model, node_bootstrap.node_cache_dir(on_nvme), True)
    # Inside the pod the node cache is /cache, so the copy lands on the array.
    assert env["ML_SERVING_WEIGHTS_CACHE"] == "/cache/weights"
    assert "ML_SERVING_WEIGHTS_CACHE" not in _model_env(model, "/var/lib/ml-serving/cache", False)


def test_triton_and_hugging_face_models_get_no_s3_weights_cache():
    triton = model_of("prod", "sentiment")
    assert "ML_SERVING_WEIGHTS_CACHE" not in _model_env(triton, "/mnt/k8s-disks/0/ml-serving/cache", True)
    hf = model_of("prod", "llama-8b").model_copy(update={"source": "hf://meta-llama/Llama-3.1-8B-Instruct@" + "a" * 40})
    assert "ML_SERVING_WEIGHTS_CACHE" not in _model_env(hf, "/mnt/k8s-disks/0/ml-serving/cache", True)


def test_an_s3_weights_cache_without_a_node_cache_is_a_programming_error():
    with pytest.raises(ValueError, match="node cache directory"):
        _model_env(model_of("prod", "llama-8b"), None, True)


def _cluster(stack):
    spec = spec_of(stack)

    def program():
        Cluster("c", ClusterArgs(f"ml-serving-{spec.environment}", spec.cluster, ["subnet-a"], "arn:aws:kms:us-east-1:1:key/k", "us-east-1", False,
                                 vpc_id="vpc-1"))

    return run_under_mocks(program)


def test_prod_launch_templates_carry_the_levers_the_stack_file_asks_for():
    rec = _cluster("prod")
    by_pool = {}
    for pool in ("l40s", "l40s-x4", "l4", "h100"):
        template = rec.get("aws:ec2/launchTemplate:LaunchTemplate", f"c-gpu-{pool}-template")
        assert template.parent_type == "ml-serving:node_group:NodeGroup"
        message = email.message_from_string(base64.b64decode(template.inputs["userData"]).decode())
        by_pool[pool] = {p.get_content_type() for p in message.get_payload()}
    assert by_pool == {
        "l40s": {"application/node.eks.aws", "text/x-shellscript"},
        "l40s-x4": {"application/node.eks.aws", "text/x-shellscript"},
        "l4": {"application/node.eks.aws"},
        "h100": {"application/node.eks.aws"},
    }
    # The system nodes get no user data: none of this concerns them.
    assert "userData" not in rec.get("aws:ec2/launchTemplate:LaunchTemplate", "c-system-template").inputs


def test_the_whole_prod_program_mounts_the_node_cache_where_its_pool_keeps_one(previews):
    from components.preview.manifests import is_kubernetes_object, manifest

    recording = previews("prod").recording
    services = [manifest(r) for r in recording.resources if is_kubernetes_object(r)]
    caches = {
        doc["metadata"]["labels"]["ml-serving/model"]: next(v for v in doc["spec"]["predictor"]["volumes"] if v["name"] == "cache")
        for doc in services
        if doc["kind"] == "InferenceService"
    }
    node_cache = {"name": "cache", "hostPath": {"path": "/var/lib/ml-serving/cache", "type": "Directory"}}
    # vLLM models on pools with compile_cache node; Triton's l4 pool keeps the emptyDir.
    assert caches["llama-8b"] == node_cache and caches["llama-70b"] == node_cache
    assert caches["sentiment"] == {"name": "cache", "emptyDir": {}}


@pytest.fixture(scope="module")
def nvme_staging_services(tmp_path_factory):
    """The InferenceServices of the whole program for staging with its l40s pool on raid0."""
    from components.preview.engine import run_program
    from components.preview.manifests import is_kubernetes_object, manifest
    from components.preview.stackfile import read_stack_file
    from tests.conftest import stack_config

    config = copy.deepcopy(stack_config("staging"))
    pools = config["ml-serving:cluster"]["gpu_pools"]
    l40s = next(p for p in pools if p["name"] == "l40s")
    l40s["cold_start"] = {**l40s["cold_start"], "instance_store": "raid0"}
    path = tmp_path_factory.mktemp("nvme") / "Pulumi.staging-nvme.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    recording = run_program(read_stack_file(path, path.name), "staging-nvme")
    return [
        doc for doc in (manifest(r) for r in recording.resources if is_kubernetes_object(r))
        if doc["kind"] == "InferenceService"
    ]


def test_the_whole_program_keeps_s3_weights_on_the_nvme_array_where_the_pool_has_one(nvme_staging_services):
    predictors = {doc["metadata"]["labels"]["ml-serving/model"]: doc["spec"]["predictor"] for doc in nvme_staging_services}
    llama = predictors["llama-8b"]
    env = {e["name"]: e.get("value") for e in llama["model"]["env"]}
    assert env["ML_SERVING_WEIGHTS_CACHE"] == "/cache/weights"
    assert next(v for v in llama["volumes"] if v["name"] == "cache")["hostPath"]["path"] == "/mnt/k8s-disks/0/ml-serving/cache"
    # The Triton model on the l4 pool, which has neither lever, is untouched.
    assert all(e["name"] != "ML_SERVING_WEIGHTS_CACHE" for e in predictors["sentiment"]["model"]["env"])


def test_those_inference_services_are_what_kserves_crd_accepts(nvme_staging_services, crd_validator):
    assert [crd_validator(doc) for doc in nvme_staging_services] == [[] for _ in nvme_staging_services]
