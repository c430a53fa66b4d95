"""A load-test Job per model, run after a deploy to calibrate the planner (docs/performance.md).

vLLM: `vllm bench serve` (v0.31.0; every flag is checked against
containers/vllm/bench-serve-flags-v0.31.0.txt) from the vLLM image, against the stable
version's predictor Service, sweeping the clients' concurrency from 1 to the replica's slots
with fixed-length random prompts of the model's request shape. Triton: perf_analyzer from the
Triton SDK image with a concurrency range up to twice what the instances batch. Each step's
result goes to the Job's log as one `LOADTEST-RESULT <json>` (perf_analyzer: `LOADTEST-CSV`)
line, so `kubectl logs` is all that has to be collected; profile_build.py turns it into a profile.

The Job runs as uid 1000 with a read-only root filesystem, no service-account token (S3
sources: the model reader's Pod Identity, whose agent mounts its own token), requests and
limits set, off the GPU nodes. Two NetworkPolicies add to the namespace's default-deny the one
flow it needs: the Job's pod to the model's pods on the serving port.
"""
from __future__ import annotations

import shlex
from typing import Any

from components.compilers.kserve import CONTAINER_SECURITY, HF_TOKEN_SECRET, HTTP_PORT, MODEL_LABEL, POD_SECURITY
from components.compilers.rollout import served_versions
from components.compilers.serving import MANAGED_BY, MODEL_SERVICE_ACCOUNT, MODELS_NAMESPACE
from components.intent.base import hf_repository
from components.intent.model import ModelSpec

Manifest = dict[str, Any]
LOADTEST_LABEL = "ml-serving/loadtest"
RESULT_MARKER = "LOADTEST-RESULT"
CSV_MARKER = "LOADTEST-CSV"
WORK_DIR = "/work"
# Requests per concurrency step: enough for stable medians, a few minutes per step.
PROMPTS_PER_CLIENT = 8
MIN_PROMPTS = 32
# The serving pod may still be starting when the Job does: wait up to this for /health.
READY_TIMEOUT_S = 1800
# A whole sweep must end; the Job is deleted a day after it finished.
DEADLINE_S = 4 * 3600
TTL_S = 24 * 3600
LOADGEN_RESOURCES = {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"cpu": "4", "memory": "8Gi"}}
TOKENIZER_FILES = ["*.json", "*.model", "*.tiktoken", "*.txt"]


def concurrency_sweep(slots: int) -> list[int]:
    """1, 2, 4, ... up to the replica's slots (max_num_seqs or what its KV cache holds), and the slots."""
    steps, level = [], 1
    while level < slots:
        steps.append(level)
        level *= 2
    return steps + [max(1, slots)]


def job_name(model: ModelSpec) -> str:
    return f"loadtest-{model.name}"


def _labels(model: ModelSpec) -> dict[str, str]:
    return {**MANAGED_BY, "app.kubernetes.io/component": "loadtest", LOADTEST_LABEL: model.name}


def _predictor_url(model: ModelSpec) -> str:
    stable = next(v for v in served_versions(model) if v.role == "stable")
    return f"http://{stable.predictor}.{MODELS_NAMESPACE}.svc.cluster.local"


def bench_arguments(model: ModelSpec, concurrency: int, prompt_tokens: int, output_tokens: int, tokenizer: str) -> list[str]:
    """One `vllm bench serve` step: a closed loop of `concurrency` clients."""
    prompts = max(MIN_PROMPTS, PROMPTS_PER_CLIENT * concurrency)
    return [
        "--backend", "openai",
        "--base-url", _predictor_url(model),
        "--endpoint", "/v1/completions",
        "--model", model.name,
        "--tokenizer", tokenizer,
        "--dataset-name", "random",
        "--random-input-len", str(prompt_tokens),
        "--random-output-len", str(output_tokens),
        # Every request decodes its full output, so the step's shape is the planned one.
        "--ignore-eos",
        "--max-concurrency", str(concurrency),
        "--num-prompts", str(prompts),
        "--num-warmups", str(min(concurrency, 8)),
        "--percentile-metrics", "ttft,tpot,itl,e2el",
        "--metric-percentiles", "50,90,99",
        "--seed", "0",
        "--ready-check-timeout-sec", str(READY_TIMEOUT_S),
        "--disable-tqdm",
        "--save-result",
        "--result-dir", f"{WORK_DIR}/results",
        "--result-filename", f"c{concurrency}.json",
    ]


def _vllm_script(model: ModelSpec, sweep: list[int], prompt_tokens: int, output_tokens: int, tokenizer: str) -> str:
    lines = ["set -euo pipefail", f"mkdir -p {WORK_DIR}/results"]
    for concurrency in sweep:
        arguments = " ".join(shlex.quote(a) for a in bench_arguments(model, concurrency, prompt_tokens, output_tokens, tokenizer))
        lines.append(f"vllm bench serve {arguments}")
        lines.append(f"echo \"{RESULT_MARKER} $(tr -d '\\n' < {WORK_DIR}/results/c{concurrency}.json)\"")
    return "\n".join(lines) + "\n"


def _tokenizer_pull(source: str) -> str:
    """Python for the init container: the tokenizer files of an S3 source, with the
    streamer the serving image already has (what vLLM itself uses for S3 models)."""
    return (
        "from runai_model_streamer import pull_files\n"
        f"pull_files({source.rstrip('/') + '/'!r}, {WORK_DIR + '/tokenizer'!r}, {TOKENIZER_FILES!r}, "
        "['*.safetensors', '*.bin', '*.pt'])\n"
    )


def _volumes() -> tuple[list[Manifest], list[Manifest]]:
    volumes = [{"name": "work", "emptyDir": {"sizeLimit": "2Gi"}}, {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}]
    mounts = [{"name": "work", "mountPath": WORK_DIR}, {"name": "tmp", "mountPath": "/tmp"}]
    return volumes, mounts


def _container(name: str, image: str, command: list[str], env: list[Manifest], mounts: list[Manifest]) -> Manifest:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "env": env,
        "resources": LOADGEN_RESOURCES,
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": mounts,
    }


def _job(model: ModelSpec, init: list[Manifest], main: Manifest, volumes: list[Manifest], reads_s3: bool) -> Manifest:
    pod: Manifest = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": POD_SECURITY,
        "volumes": volumes,
        "containers": [main],
    }
    if reads_s3:
        pod["serviceAccountName"] = MODEL_SERVICE_ACCOUNT
    if init:
        pod["initContainers"] = init
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job_name(model), "namespace": MODELS_NAMESPACE, "labels": _labels(model)},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": DEADLINE_S,
            "ttlSecondsAfterFinished": TTL_S,
            "template": {"metadata": {"labels": _labels(model)}, "spec": pod},
        },
    }


def vllm_job(model: ModelSpec, image: str, slots: int, prompt_tokens: int, output_tokens: int) -> Manifest:
    volumes, mounts = _volumes()
    env = [{"name": "HOME", "value": WORK_DIR}, {"name": "HF_HOME", "value": f"{WORK_DIR}/hf"}]
    init = []
    reads_s3 = model.source.startswith("s3://")
    if reads_s3:
        tokenizer = f"{WORK_DIR}/tokenizer"
        init.append(_container("tokenizer", image, ["python3", "-c", _tokenizer_pull(model.source)], env, mounts))
    else:
        tokenizer, _ = hf_repository(model.source)
        env.append({"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": HF_TOKEN_SECRET, "key": "token", "optional": True}}})
    script = _vllm_script(model, concurrency_sweep(slots), prompt_tokens, output_tokens, tokenizer)
    main = _container("bench", image, ["/bin/bash", "-c", script], env, mounts)
    return _job(model, init, main, volumes, reads_s3)


def perf_analyzer_arguments(model: ModelSpec, sweep_end: int, step: int) -> list[str]:
    stable = next(v for v in served_versions(model) if v.role == "stable")
    return [
        "-m", model.name,
        "-u", f"{stable.predictor}.{MODELS_NAMESPACE}.svc.cluster.local:80",
        "-i", "http",
        "--concurrency-range", f"1:{sweep_end}:{step}",
        "--measurement-interval", "10000",
        "--percentile", "99",
        "-f", f"{WORK_DIR}/results/perf.csv",
    ]


def triton_job(model: ModelSpec, image: str) -> Manifest:
    assert model.triton is not None
    instances = max(1, sum(g.count for g in model.triton.instance_groups))
    end = max(2, 2 * instances * model.triton.max_batch_size)
    step = max(1, end // 16)
    volumes, mounts = _volumes()
    arguments = " ".join(shlex.quote(a) for a in perf_analyzer_arguments(model, end, step))
    script = (
        f"set -euo pipefail\nmkdir -p {WORK_DIR}/results\nperf_analyzer {arguments}\n"
        f"sed 's/^/{CSV_MARKER} /' {WORK_DIR}/results/perf.csv\n"
    )
    main = _container("bench", image, ["/bin/bash", "-c", script], [{"name": "HOME", "value": WORK_DIR}], mounts)
    return _job(model, [], main, volumes, False)


def network_policies(model: ModelSpec) -> list[Manifest]:
    """The Job's one flow through default-deny: its pod to the model's pods on the serving port."""
    port = [{"protocol": "TCP", "port": HTTP_PORT}]
    loadgen = {"podSelector": {"matchLabels": {LOADTEST_LABEL: model.name}}}
    serving = {"podSelector": {"matchLabels": {MODEL_LABEL: model.name}}}
    meta = lambda name: {"name": name, "namespace": MODELS_NAMESPACE, "labels": _labels(model)}  # noqa: E731
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta(f"{job_name(model)}-ingress"),
            "spec": {**serving, "policyTypes": ["Ingress"], "ingress": [{"from": [loadgen], "ports": port}]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta(f"{job_name(model)}-egress"),
            "spec": {**loadgen, "policyTypes": ["Egress"], "egress": [{"to": [serving], "ports": port}]},
        },
    ]
