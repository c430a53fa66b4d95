"""`make synth`: exit codes, the build directory, and the message on a bad stack file."""
import json
import subprocess
import sys

import yaml

from components.preview.__main__ import main
from tests.conftest import ROOT


def test_writes_the_build_directory(tmp_path, capsys):
    assert main(["--stack", "dev", "--out", str(tmp_path)]) == 0
    build = tmp_path / "dev"
    resources = json.loads((build / "resources.json").read_text())
    assert {"type", "name", "parent", "inputs", "protect", "ignoreChanges"} <= set(resources[0])
    assert (build / "summary.md").read_text().startswith("# Offline preview of stack `dev`")
    storage_class = yaml.safe_load((build / "kubernetes/_cluster/StorageClass.gp3-encrypted.yaml").read_text())
    assert storage_class["kind"] == "StorageClass" and storage_class["parameters"]["encrypted"] == "true"
    keda = yaml.safe_load((build / "helm/keda.yaml").read_text())
    assert keda["chart"] == "keda" and keda["version"] == "2.20.2"
    assert "| llama-8b (v1) | vllm | 1x L4 on g6.xlarge |" in capsys.readouterr().out


def test_an_invalid_stack_file_exits_2_with_the_message_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "Pulumi.broken.yaml"
    config = yaml.safe_load((ROOT / "stacks/Pulumi.dev.yaml").read_text())
    config["config"]["ml-serving:target"] = "gke"
    config["config"]["ml-serving:models"][0]["gpus"] = 0
    bad.write_text(yaml.safe_dump(config))
    out = tmp_path / "build"
    assert main(["--stack-file", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: 2 problems in the stack configuration:" in err
    assert "ml-serving:target: Input should be 'eks' or 'sagemaker' (got 'gke')" in err
    assert "ml-serving:models[0].gpus: Input should be greater than or equal to 1 (got 0)" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_broken_yaml_is_reported_with_its_position(tmp_path, capsys):
    bad = tmp_path / "Pulumi.yamlerror.yaml"
    bad.write_text("config:\n  ml-serving:environment: [dev\n")
    assert main(["--stack-file", str(bad), "--out", str(tmp_path / "b")]) == 2
    assert "not valid YAML at line" in capsys.readouterr().err


def test_a_missing_stack_file(tmp_path, capsys):
    assert main(["--stack-file", str(tmp_path / "Pulumi.nope.yaml"), "--out", str(tmp_path)]) == 2
    assert "cannot read the stack file" in capsys.readouterr().err


def test_make_synth_runs_as_a_module_without_traceback(tmp_path):
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  ml-serving:environment: dev\n")
    run = subprocess.run(
        [sys.executable, "-m", "components.preview", "--stack-file", str(bad), "--out", str(tmp_path / "o")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "ml-serving:target: required field is missing" in run.stderr


def test_whole_numbers_are_written_as_integers_in_every_file(tmp_path, previews):
    from components.preview.writers import write_build

    def floats(value, where):
        if isinstance(value, float) and value.is_integer():
            yield where
        elif isinstance(value, dict):
            for key, child in value.items():
                yield from floats(child, f"{where}.{key}")
        elif isinstance(value, list):
            for index, child in enumerate(value):
                yield from floats(child, f"{where}[{index}]")

    for stack in ("staging", "sagemaker-prod"):
        result = previews(stack)
        files = write_build(result.recording, tmp_path / stack, result.summary, policy=result.policy.as_json(), cost=result.cost)
        found = []
        for path in files:
            if path.suffix == ".json":
                found += floats(json.loads(path.read_text()), path.name)
            elif path.suffix == ".yaml":
                found += floats(yaml.safe_load(path.read_text()), path.name)
        assert found == [], found[:10]
    isvc = yaml.safe_load((tmp_path / "staging/kubernetes/models/InferenceService.llama-8b-v1.yaml").read_text())
    assert type(isvc["spec"]["predictor"]["minReplicas"]) is int
    cost = json.loads((tmp_path / "staging/cost.json").read_text())
    assert any(type(item["monthly_usd"]) is int for item in cost["busy"]["items"])
