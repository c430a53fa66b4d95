"""The images' entrypoints, run for real with stand-ins for `vllm` and `tritonserver` that print
the arguments they get: the SageMaker `serve` path and the KServe pass-through."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CONTAINERS = Path(__file__).resolve().parents[2] / "containers"
BASH = shutil.which("bash")

pytestmark = pytest.mark.skipif(BASH is None, reason="the entrypoints are bash scripts")


@pytest.fixture
def stubs(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for program in ("vllm", "tritonserver"):
        stub = bin_dir / program
        stub.write_text(f'#!/usr/bin/env bash\necho "{program}"\nprintf "%s\\n" "$@"\n')
        stub.chmod(0o755)
    return bin_dir


def run(runtime: str, stubs: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # Only what the test sets: no SM_* or SAGEMAKER_* leaking in from the machine running tests.
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "SAGEMAKER_", "ML_SERVING_"))}
    clean["PATH"] = f"{stubs}:{clean.get('PATH', '/usr/bin:/bin')}"
    return subprocess.run(
        [BASH, str(CONTAINERS / runtime / "entrypoint.sh"), *args],
        env={**clean, **env}, capture_output=True, text=True, timeout=30, check=False,
    )


def argv(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


# --- vLLM ------------------------------------------------------------------------------------


def test_vllm_passes_kserve_arguments_through_unchanged(stubs):
    kserve = ["--model=s3://bucket/llama/v1/", "--load-format=runai_streamer", "--port=8080"]
    assert argv(run("vllm", stubs, *kserve)) == ["vllm", "serve", *kserve]


def _weights_cache_stub(stubs: Path, body: str) -> None:
    stub = stubs / "ml-serving-weights-cache"
    stub.write_text(f"#!/usr/bin/env bash\n{body}\n")
    stub.chmod(0o755)


def test_vllm_takes_the_flags_the_node_weights_cache_rewrote(stubs, tmp_path):
    # The helper answers NUL-separated, so a flag may hold spaces (a --lora-modules JSON does).
    _weights_cache_stub(stubs, r"""printf '%s\0' --model=/cache/weights/abc '--lora-modules={"a": 1}' --port=8080""")
    kserve = ["--model=s3://bucket/llama/v1/", '--lora-modules={"a": 1}', "--port=8080"]
    result = run("vllm", stubs, *kserve, ML_SERVING_WEIGHTS_CACHE=str(tmp_path))
    assert argv(result) == ["vllm", "serve", "--model=/cache/weights/abc", '--lora-modules={"a": 1}', "--port=8080"]


def test_a_failing_weights_cache_never_stops_the_replica(stubs, tmp_path):
    _weights_cache_stub(stubs, "printf '%s\\0' --model=/half/written; exit 1")
    kserve = ["--model=s3://bucket/llama/v1/", "--port=8080"]
    result = run("vllm", stubs, *kserve, ML_SERVING_WEIGHTS_CACHE=str(tmp_path))
    assert argv(result) == ["vllm", "serve", *kserve]
    assert "streaming from S3" in result.stderr


def test_without_a_weights_cache_the_helper_is_not_run(stubs):
    _weights_cache_stub(stubs, "exit 99")
    kserve = ["--model=s3://bucket/llama/v1/", "--port=8080"]
    assert argv(run("vllm", stubs, *kserve)) == ["vllm", "serve", *kserve]


def test_vllm_serve_maps_sagemaker_environment_to_flags(stubs, tmp_path):
    result = run(
        "vllm", stubs, "serve",
        ML_SERVING_MODEL_DIR=str(tmp_path),
        SM_MODEL_NAME="llama-8b",
        SM_VLLM_MAX_MODEL_LEN="8192",
        SM_VLLM_TENSOR_PARALLEL_SIZE="1",
        SM_VLLM_ENFORCE_EAGER="",
        SM_VLLM_OVERRIDE_GENERATION_CONFIG='{"temperature": 0.5}',
    )
    assert argv(result) == [
        "vllm", "serve", str(tmp_path),
        "--port", "8080",
        "--served-model-name", "llama-8b",
        # Sorted by variable name, so the command line is the same on every start.
        "--enforce-eager",
        "--max-model-len", "8192",
        "--override-generation-config", '{"temperature": 0.5}',
        "--tensor-parallel-size", "1",
    ]


def test_vllm_serve_appends_extra_arguments_and_honours_sagemakers_port(stubs, tmp_path):
    result = run("vllm", stubs, "serve", "--disable-log-requests",
                 ML_SERVING_MODEL_DIR=str(tmp_path), SM_MODEL_NAME="m", SAGEMAKER_BIND_TO_PORT="8081")
    assert argv(result) == ["vllm", "serve", str(tmp_path), "--port", "8081", "--served-model-name", "m",
                            "--disable-log-requests"]


def test_vllm_serve_ignores_variables_that_would_override_sagemakers_contract(stubs, tmp_path):
    result = run("vllm", stubs, "serve", ML_SERVING_MODEL_DIR=str(tmp_path), SM_MODEL_NAME="m",
                 SM_VLLM_PORT="9000", SM_VLLM_MODEL="/elsewhere", SM_VLLM_SERVED_MODEL_NAME="other")
    assert argv(result) == ["vllm", "serve", str(tmp_path), "--port", "8080", "--served-model-name", "m"]
    assert "ignoring SM_VLLM_PORT" in result.stderr


def test_vllm_serve_without_a_model_name_says_what_is_missing(stubs, tmp_path):
    result = run("vllm", stubs, "serve", ML_SERVING_MODEL_DIR=str(tmp_path))
    assert result.returncode == 64 and result.stdout == ""
    assert result.stderr.strip() == (
        "ml-serving-entrypoint: SM_MODEL_NAME is not set; it is the model name clients send (--served-model-name)"
    )


def test_vllm_serve_without_the_model_directory_says_where_it_should_be(stubs, tmp_path):
    result = run("vllm", stubs, "serve", ML_SERVING_MODEL_DIR=str(tmp_path / "absent"), SM_MODEL_NAME="m")
    assert result.returncode == 64
    assert "does not exist; SageMaker copies the model's S3 prefix there" in result.stderr


# --- Triton ----------------------------------------------------------------------------------


def test_triton_passes_kserve_arguments_through_unchanged(stubs):
    kserve = ["--model-repository=s3://bucket/sentiment/v3/", "--http-port=8080", "--grpc-port=9000",
              "--metrics-port=8002", "--metrics-config=summary_latencies=true"]
    assert argv(run("triton", stubs, *kserve)) == ["tritonserver", *kserve]


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    (tmp_path / "sentiment" / "1").mkdir(parents=True)
    (tmp_path / "sentiment" / "config.pbtxt").write_text('name: "sentiment"\n')
    return tmp_path


def test_triton_serve_starts_only_the_sagemaker_frontend_with_one_model(stubs, repository):
    result = run("triton", stubs, "serve", ML_SERVING_MODEL_REPOSITORY=str(repository),
                 SAGEMAKER_TRITON_DEFAULT_MODEL_NAME="sentiment")
    assert argv(result) == [
        "tritonserver",
        "--allow-sagemaker=true",
        "--allow-http=false",
        "--allow-grpc=false",
        "--allow-metrics=false",
        f"--model-repository={repository}",
        "--model-control-mode=explicit",
        "--load-model=sentiment",
    ]


def test_triton_serve_honours_sagemakers_port(stubs, repository):
    result = run("triton", stubs, "serve", ML_SERVING_MODEL_REPOSITORY=str(repository),
                 SAGEMAKER_TRITON_DEFAULT_MODEL_NAME="sentiment", SAGEMAKER_BIND_TO_PORT="8081")
    assert argv(result)[-1] == "--sagemaker-port=8081"


def test_triton_serve_without_a_model_name_says_what_is_missing(stubs, repository):
    result = run("triton", stubs, "serve", ML_SERVING_MODEL_REPOSITORY=str(repository))
    assert result.returncode == 64
    assert result.stderr.strip() == (
        "ml-serving-entrypoint: SAGEMAKER_TRITON_DEFAULT_MODEL_NAME is not set; it names the model directory to load"
    )


def test_triton_serve_explains_the_repository_layout_when_the_config_is_missing(stubs, repository):
    result = run("triton", stubs, "serve", ML_SERVING_MODEL_REPOSITORY=str(repository),
                 SAGEMAKER_TRITON_DEFAULT_MODEL_NAME="other")
    assert result.returncode == 64
    assert result.stderr.strip() == (
        f"ml-serving-entrypoint: {repository}/other/config.pbtxt not found; the model's S3 prefix must be a "
        "Triton model repository: <prefix>/other/config.pbtxt and <prefix>/other/1/<model file>"
    )
