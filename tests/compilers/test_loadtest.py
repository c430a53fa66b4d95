"""The load-test Jobs `make loadtest` renders: valid objects, least privilege, default-deny
compatible, and only flags vllm bench serve v0.31.0 has."""
import shlex
from pathlib import Path

import pytest
import yaml

from components.compilers import loadtest
from components.compilers.kserve import HTTP_PORT, MODEL_LABEL
from components.compilers.network_policy import model_network_policies
from components.intent.versions import IMAGES
from components.planning.capacity import service_model
from components.preview import loadtest as cli
from tests.conftest import parse, stack_config

ROOT = Path(__file__).resolve().parents[2]
BENCH_FLAGS = {
    line.strip()
    for line in (ROOT / "containers" / "vllm" / "bench-serve-flags-v0.31.0.txt").read_text().splitlines()
    if line.startswith("--")
}
KUBERNETES_VERSION = "1.35"


def rendered(stack="prod", **kwargs):
    spec = parse(stack_config(stack))
    return spec, cli.manifests(spec, None, kwargs.get("image"), kwargs.get("sdk_image"))


def job_of(documents):
    return next(d for d in documents if d["kind"] == "Job")


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_object_validates_strictly(stack, builtin_validator):
    _, by_model = rendered(stack)
    assert by_model
    for documents in by_model.values():
        for document in documents:
            builtin_validator(document, KUBERNETES_VERSION)


def test_the_job_is_non_root_without_a_token_with_resources_and_the_image_by_digest():
    spec, by_model = rendered()
    for name, documents in by_model.items():
        pod = job_of(documents)["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["restartPolicy"] == "Never"
        for container in pod["containers"] + pod.get("initContainers", []):
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
            assert "nvidia.com/gpu" not in container["resources"]["limits"], "a load generator needs no GPU"
        model = next(m for m in spec.models if m.name == name)
        if model.runtime == "vllm":
            assert pod["containers"][0]["image"] == IMAGES["vllm"]
            # S3 weights: the tokenizer comes from the model's own prefix, under its reader's Pod Identity.
            assert pod["serviceAccountName"] == "model-reader"
            assert model.source in pod["initContainers"][0]["command"][2]


def test_a_prebuilt_or_given_image_is_used_and_an_unpinned_one_refused(tmp_path, capsys):
    image = "111122223333.dkr.ecr.us-east-1.amazonaws.com/vllm@sha256:" + "a" * 64
    _, by_model = rendered(image=image)
    assert job_of(by_model["llama-8b"])["spec"]["template"]["spec"]["containers"][0]["image"] == image
    assert cli.main(["--stack", "prod", "--image", "vllm/vllm-openai:latest", "--out", str(tmp_path)]) == 2
    assert "--image: vllm/vllm-openai:latest is not pinned by digest" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def _bench_commands(documents):
    script = job_of(documents)["spec"]["template"]["spec"]["containers"][0]["command"][2]
    return [shlex.split(line)[3:] for line in script.splitlines() if line.startswith("vllm bench serve ")]


def test_the_sweep_runs_from_one_client_to_the_replicas_slots_with_known_flags_only():
    spec, by_model = rendered()
    model = next(m for m in spec.models if m.name == "llama-8b")
    commands = _bench_commands(by_model["llama-8b"])
    slots = service_model(model).slots
    levels = [int(c[c.index("--max-concurrency") + 1]) for c in commands]
    assert levels[0] == 1 and levels[-1] == slots and levels == sorted(set(levels))
    for command in commands:
        flags = {a for a in command if a.startswith("--")}
        assert flags <= BENCH_FLAGS, flags - BENCH_FLAGS
        assert command[command.index("--base-url") + 1] == "http://llama-8b-v1-predictor.models.svc.cluster.local"
        assert command[command.index("--model") + 1] == "llama-8b"
        assert command[command.index("--random-input-len") + 1] == "1024"
        assert command[command.index("--result-dir") + 1] == "/work/results"


def test_concurrency_sweep_at_its_edges():
    assert loadtest.concurrency_sweep(1) == [1]
    assert loadtest.concurrency_sweep(2) == [1, 2]
    assert loadtest.concurrency_sweep(16) == [1, 2, 4, 8, 16]
    assert loadtest.concurrency_sweep(17) == [1, 2, 4, 8, 16, 17]


def test_triton_runs_perf_analyzer_over_a_concurrency_range():
    spec, by_model = rendered()
    job = job_of(by_model["sentiment"])
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
    line = next(text for text in script.splitlines() if text.startswith("perf_analyzer "))
    arguments = shlex.split(line)
    assert arguments[arguments.index("-m") + 1] == "sentiment"
    assert arguments[arguments.index("--concurrency-range") + 1].startswith("1:")
    assert "LOADTEST-CSV" in script
    assert "serviceAccountName" not in job["spec"]["template"]["spec"], "perf_analyzer reads nothing from S3"


def test_the_network_policies_open_only_the_job_to_its_model_on_the_serving_port():
    _, by_model = rendered()
    for name, documents in by_model.items():
        policies = [d for d in documents if d["kind"] == "NetworkPolicy"]
        ingress = next(p for p in policies if p["spec"]["policyTypes"] == ["Ingress"])["spec"]
        egress = next(p for p in policies if p["spec"]["policyTypes"] == ["Egress"])["spec"]
        job_labels = job_of(documents)["spec"]["template"]["metadata"]["labels"]
        assert ingress["podSelector"]["matchLabels"] == {MODEL_LABEL: name}
        (rule,) = ingress["ingress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": HTTP_PORT}]
        selector = rule["from"][0]["podSelector"]["matchLabels"]
        assert selector.items() <= job_labels.items()
        assert MODEL_LABEL not in job_labels, "the Job's pod must not pass for a model pod"
        assert egress["podSelector"]["matchLabels"].items() <= job_labels.items()
        assert egress["egress"] == [{"to": [{"podSelector": {"matchLabels": {MODEL_LABEL: name}}}],
                                     "ports": [{"protocol": "TCP", "port": HTTP_PORT}]}]
    # DNS, Pod Identity and HTTPS (S3, the Hub) come from the namespace's own egress policy,
    # which selects every pod, the Job's included.
    namespace_egress = next(p for p in model_network_policies() if p["metadata"]["name"] == "model-egress")
    assert namespace_egress["spec"]["podSelector"] == {}


def test_make_loadtest_writes_one_file_per_model_and_refuses_sagemaker(tmp_path, capsys):
    assert cli.main(["--stack", "prod", "--model", "llama-8b", "--out", str(tmp_path)]) == 0
    written = list((tmp_path / "prod" / "loadtest").iterdir())
    assert [p.name for p in written] == ["llama-8b.yaml"]
    kinds = [d["kind"] for d in yaml.safe_load_all(written[0].read_text())]
    assert kinds == ["NetworkPolicy", "NetworkPolicy", "Job"]
    assert cli.main(["--stack", "sagemaker-dev", "--out", str(tmp_path)]) == 2
    assert "SageMaker stack has none" in capsys.readouterr().err
    assert cli.main(["--stack", "prod", "--model", "nope", "--out", str(tmp_path)]) == 2
    assert "no model named nope" in capsys.readouterr().err
