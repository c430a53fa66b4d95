"""Every vLLM flag we render exists in vLLM 0.31.0: checked against the flag list extracted
from its source (containers/vllm/flags-v0.31.0.txt, made by containers/vllm/extract_flags.py)."""
from pathlib import Path

import pytest

from components.compilers.kserve import cluster_serving_runtime, inference_service
from components.compilers.leader_worker_set import is_multinode, leader_worker_set
from components.compilers.rollout import served_versions
from components.compilers.sagemaker import container_environment, timeouts
from components.intent.stack import StackSpec
from tests.conftest import STACK_NAMES, parse, stack_config
from tests.factories import model_of

FLAGS_FILE = Path(__file__).resolve().parents[2] / "containers" / "vllm" / "flags-v0.31.0.txt"
IMAGE = "example.com/vllm@sha256:" + "b" * 64


def known_flags() -> set[str]:
    lines = FLAGS_FILE.read_text().splitlines()
    return {line for line in lines if line and not line.startswith("#")}


def flags_in(args: list[str]) -> list[str]:
    return [arg.split("=", 1)[0] for arg in args if arg.startswith("--")]


def test_flag_list_names_its_source_and_holds_the_flags_we_rely_on():
    header = FLAGS_FILE.read_text().splitlines()[:4]
    assert any("vllm-0.31.0.tar.gz" in line and "sha256" in line for line in header)
    flags = known_flags()
    assert len(flags) > 250
    for flag in ("--model", "--enable-lora", "--lora-modules", "--max-loras", "--max-lora-rank", "--max-cpu-loras",
                 "--pipeline-parallel-size", "--distributed-executor-backend"):
        assert flag in flags
    # Guard against a list that would accept anything.
    assert "--enable-loras" not in flags and "--lora-module" not in flags


def _eks_models():
    for stack in STACK_NAMES:
        spec: StackSpec = parse(stack_config(stack))
        if spec.target == "eks":
            yield from (m for m in spec.models if m.runtime == "vllm")


def test_every_rendered_kserve_flag_exists_in_vllm():
    flags = known_flags()
    rendered = flags_in(cluster_serving_runtime("vllm", IMAGE)["spec"]["containers"][0]["args"])
    models = list(_eks_models())
    assert models
    for model in models:
        for served in served_versions(model):
            if is_multinode(served):
                template = leader_worker_set(served, "pool", "us-east-1", IMAGE)["spec"]["leaderWorkerTemplate"]
                for role in ("leaderTemplate", "workerTemplate"):
                    rendered += flags_in(template[role]["spec"]["containers"][0]["args"])
                continue
            predictor = inference_service(served, "pool", "us-east-1", False, IMAGE)["spec"]["predictor"]
            rendered += flags_in(predictor["model"]["args"])
    assert "--enable-lora" in rendered, "a stack serves adapters"
    assert "--pipeline-parallel-size" in rendered and "--headless" in rendered, "a stack runs a model across nodes"
    unknown = sorted(set(rendered) - flags)
    assert not unknown, f"flags vLLM 0.31.0 does not define: {unknown}"


@pytest.mark.parametrize("stack", [s for s in STACK_NAMES if stack_config(s)["ml-serving:target"] == "sagemaker"])
def test_every_sagemaker_vllm_flag_exists_in_vllm(stack):
    """SM_VLLM_MAX_MODEL_LEN becomes --max-model-len in the entrypoint (containers/vllm/entrypoint.sh)."""
    flags = known_flags()
    spec = parse(stack_config(stack))
    for model in (m for m in spec.models if m.runtime == "vllm"):
        for kind in ("vllm", "ml-serving"):
            env = container_environment(model, kind, timeouts(model))
            for name in env:
                if name.startswith("SM_VLLM_"):
                    flag = "--" + name.removeprefix("SM_VLLM_").lower().replace("_", "-")
                    assert flag in flags, f"{stack}/{model.name}: {name} -> {flag}"


def test_a_misspelt_flag_would_be_caught():
    model = model_of("prod", "llama-8b")
    args = inference_service(served_versions(model)[0], "pool", "us-east-1", False)["spec"]["predictor"]["model"]["args"]
    assert set(flags_in(args)) <= known_flags()
    assert not set(flags_in([*args, "--max-num-seq=4"])) <= known_flags()
