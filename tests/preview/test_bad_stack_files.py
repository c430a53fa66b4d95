"""A corpus of realistic bad stack files, run as `make synth STACK_FILE=...` runs them: each
exits 2 with the file, the field path and what is allowed, no traceback, and nothing written
(an earlier build of the same stack is removed rather than left to pass for this file)."""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from components.preview.__main__ import main
from tests.conftest import STACKS_DIR
from tests.intent.test_stack_yaml import billion_laughs

Edit = Callable[[str], str]


def text_of(stack: str) -> str:
    return (STACKS_DIR / f"Pulumi.{stack}.yaml").read_text()


def sub(pattern: str, replacement: str, count: int = 1) -> Edit:
    def edit(text: str) -> str:
        changed, n = re.subn(pattern, replacement, text, count=count, flags=re.M)
        assert n, f"{pattern!r} not in the stack file"
        return changed
    return edit


def append(extra: str) -> Edit:
    return lambda text: text.rstrip("\n") + "\n" + extra


# (id, stack, edit, a fragment the message must hold)
CORPUS: list[tuple[str, str, Edit, str]] = [
    ("namespace-typo", "prod", sub(r"^  ml-serving:models:", "  ml-servng:models:"),
     "ml-servng:models: unknown namespace 'ml-servng' (did you mean ml-serving:models?)"),
    ("namespace-case", "staging", sub(r"^  ml-serving:models:", "  ML-Serving:models:"),
     "ML-Serving:models: unknown namespace 'ML-Serving' (did you mean ml-serving:models?)"),
    ("namespace-no-dash", "dev", sub(r"^  ml-serving:cluster:", "  mlserving:cluster:"),
     "mlserving:cluster: unknown namespace 'mlserving' (did you mean ml-serving:cluster?)"),
    ("namespace-missing", "dev", sub(r"^  ml-serving:storage:", "  storage:"),
     "storage: a config key needs a namespace, <namespace>:<name> (did you mean ml-serving:storage?)"),
    ("second-models-key", "prod", append("  ml-serving:models: []\n"),
     "ml-serving:models: written twice, at lines"),
    ("duplicate-nested-key", "prod", sub(r"^(      - name: l40s-x4\n)", r"\1        max_size: 9\n"),
     "ml-serving:cluster.gpu_pools[1].max_size: written twice, at lines"),
    ("duplicate-model-field", "dev", sub(r"^(      instance_type: g6.xlarge\n)", r"\1      instance_type: g6e.xlarge\n"),
     "ml-serving:models[0].instance_type: written twice"),
    ("duplicate-top-config", "dev", append("config:\n  aws:region: us-west-2\n"), "config: written twice"),
    ("alias-bomb", "dev", lambda text: billion_laughs(), "aliases expand this document to more than 100,000 values"),
    ("prod-without-models", "prod", lambda t: t[: t.index("  ml-serving:models:")] + "  ml-serving:models: []\n",
     "ml-serving:models: a prod stack serves at least one model"),
    ("staging-models-dropped", "staging", lambda t: t[: t.index("  ml-serving:models:")],
     "ml-serving:models: a staging stack serves at least one model"),
    ("unquoted-kubernetes-version", "prod", sub(r'kubernetes_version: "1.35"', "kubernetes_version: 1.35"),
     'ml-serving:cluster.kubernetes_version: Input should be \'1.34\', \'1.35\' or \'1.36\' (got 1.35); write it as a string: "1.35"'),
    ("unquoted-model-version", "prod", sub(r"^      version: v1", "      version: 2"),
     'ml-serving:models[0].version: Input should be a valid string (got 2); write it as a string: "2"'),
    ("region-that-does-not-exist", "dev", sub(r"aws:region: us-east-1", "aws:region: eu-north-9"),
     "aws:region: 'eu-north-9' is not an AWS region; closest: eu-north-1"),
    ("region-typo-key", "dev", sub(r"aws:region:", "aws:regoin:"), "aws:regoin: unknown key (did you mean aws:region?)"),
    ("system-instance-typo", "prod", sub(r"instance_types: \[m6i.xlarge\]", "instance_types: [m6i.xlarg]"),
     "ml-serving:cluster.system_nodes.instance_types[0]: 'm6i.xlarg' is not an EC2 instance type (did you mean m6i.xlarge"),
    ("gpu-pool-instance-typo", "dev", sub(r"instance_types: \[g6.xlarge\]", "instance_types: [g6.xlarg]"),
     "ml-serving:cluster.gpu_pools[0].instance_types: 'g6.xlarg' is not an EC2 instance type"),
    ("warm-pool-on-spot", "staging", sub(r"(        capacity_type: spot\n        min_size: 0\n        max_size: 2)",
                                         r"\1\n        warm_pool: {min_size: 1}"),
     "EC2 Auto Scaling refuses a warm pool on a group that launches Spot Instances"),
    ("warm-pool-multi-type", "prod", sub(r"instance_types: \[g6e.xlarge\]", "instance_types: [g6e.xlarge, g6e.2xlarge]"),
     "EC2 Auto Scaling refuses a warm pool on a group with a mixed instances policy"),
    ("hibernated-gpu-warm-pool", "prod", sub(r"warm_pool: \{min_size: 1, state: stopped\}", "warm_pool: {min_size: 1, state: hibernated}"),
     "ml-serving:cluster.gpu_pools[0].warm_pool.state: GPU instances cannot hibernate"),
    ("raid0-with-stopped-warm-pool", "prod", sub(r"cold_start: \{image_pull: soci_parallel, compile_cache: node\}",
                                                 "cold_start: {image_pull: soci_parallel, instance_store: raid0}"),
     "ml-serving:cluster.gpu_pools[0].cold_start.instance_store: a stopped warm-pool instance loses its instance store"),
    ("soci-on-bottlerocket", "dev", sub(r"(        max_size: 3\n)", r"\1        ami: bottlerocket_nvidia\n"),
     "ml-serving:cluster.gpu_pools[0].cold_start.image_pull: SOCI parallel pull is switched on by nodeadm"),
    ("sagemaker-queue-depth", "sagemaker-prod", sub(r"signal: concurrency", "signal: queue_depth"),
     "ml-serving:models[0].autoscaling.signal: SageMaker publishes no queue depth for real-time endpoints"),
    ("sagemaker-cpu-instance", "sagemaker-prod", sub(r"instance_type: g6e.xlarge", "instance_type: m5.xlarge"),
     "ml-serving:models[0].instance_type: unknown GPU instance type 'm5.xlarge'"),
    ("field-and-cross-field", "dev", lambda t: sub(r"max_replicas: 2", "max_replicas: 500")(sub(r"min_size: 2\n      max_size: 3", "min_size: 4\n      max_size: 3")(t)),
     "ml-serving:cluster.system_nodes.min_size: min_size (4) must not exceed max_size (3)"),
    ("huge-value", "dev", sub(r"bucket: acme-ml-serving-models-dev", "bucket: " + "z" * 900_000),
     "ml-serving:storage.bucket: 900,000 characters (starting 'zzzzzzzzzzzzzzzzzzzz'); values are at most 2,048"),
    ("oversized-file", "dev", append("# " + "x" * (2 * 1024 * 1024) + "\n"), "a stack file is at most 1,048,576 bytes"),
    ("config-is-a-list", "dev", lambda t: "config:\n  - aws:region\n", "config: a stack file's `config:` is a mapping"),
    ("top-level-typo", "dev", sub(r"^config:", "confg:"), "confg: not a stack file key (did you mean config?)"),
    ("tab-indented", "dev", sub(r"^  ml-serving:target: eks", "\tml-serving:target: eks"), "not valid YAML at line"),
    ("unknown-model-field", "prod", sub(r"^      gpus: 4", "      gpu: 4"),
     "ml-serving:models[1].gpu: unknown field (did you mean gpus?)"),
    ("nested-alias-inside-itself", "dev", lambda t: "config: &c\n  ml-serving:tags: *c\n",
     "an alias refers to the value that contains it"),
    ("replicas-as-text", "dev", sub(r"max_replicas: 2", "max_replicas: two"),
     "ml-serving:models[0].autoscaling.max_replicas: Input should be a valid integer"),
    ("scale-to-zero-in-prod", "prod", sub(r"(        warm_pool: 1\n)", r"\1        scale_to_zero: true\n"),
     "prod models keep a warm replica; scale_to_zero is for dev and staging"),
    ("empty-file", "dev", lambda t: "", "ml-serving:environment: required field is missing"),
    ("binary-junk", "dev", lambda t: "config: \x00\x01\n", "not valid YAML"),
    ("awq-on-bfloat16-is-fine-but-unknown-arch", "dev", sub(r"architecture: llama-3.1-8b", "architecture: llama-3.1-8B"),
     "unknown architecture 'llama-3.1-8B' (did you mean llama-3.1-8b?)"),
]


@pytest.mark.parametrize(("stack", "edit", "says"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_a_bad_stack_file_exits_2_says_why_and_writes_nothing(tmp_path, capsys, stack, edit, says):
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(edit(text_of(stack)))
    out = tmp_path / "build"
    assert main(["--stack-file", str(path), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert re.match(rf"{re.escape(str(path))}: \d+ problems? in the stack configuration:\n", captured.err), captured.err[:300]
    assert says in captured.err, captured.err[:2000]
    assert "Traceback" not in captured.err and captured.out == ""
    assert max(len(line) for line in captured.err.splitlines()) < 1200
    assert captured.err.rstrip().endswith("Nothing was created, changed or deleted.")
    assert not out.exists()


def test_a_bad_file_removes_the_earlier_build_of_its_stack(tmp_path, capsys):
    path = tmp_path / "Pulumi.edited.yaml"
    path.write_text(text_of("dev"))
    out = tmp_path / "build"
    assert main(["--stack-file", str(path), "--out", str(out)]) == 0
    other = out / "untouched"
    other.mkdir()
    assert (out / "edited" / "resources.json").exists()
    capsys.readouterr()
    path.write_text(sub(r"^  ml-serving:models:", "  ml-servng:models:")(text_of("dev")))
    assert main(["--stack-file", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert not (out / "edited").exists() and other.exists()
    assert err.rstrip().endswith(f"The earlier preview in {out / 'edited'}/ was removed: it does not describe this file.")


def test_the_real_program_reads_the_stack_file_strictly_too(tmp_path, monkeypatch):
    """`pulumi up` gets the engine's config (duplicates already collapsed): the program reads the file."""
    import pulumi

    from components.preview.engine import run_program
    from components.preview.stackfile import read_stack_file
    from components.stack_config import STACK_FILE_ENV

    good = STACKS_DIR / "Pulumi.dev.yaml"
    config = read_stack_file(good, "stacks/Pulumi.dev.yaml")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.dup.yaml").write_text(append("  ml-serving:models: []\n")(text_of("dev")))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(STACK_FILE_ENV, raising=False)
    with pytest.raises(pulumi.RunError) as caught:
        run_program(config, "dup")
    assert str(caught.value).startswith("stacks/Pulumi.dup.yaml: 1 problem in the stack configuration:\n"
                                        "  - ml-serving:models: written twice, at lines ")
    assert Path("stacks/Pulumi.dup.yaml").exists()
