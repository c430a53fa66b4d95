"""Shared fixtures: stack files, the offline preview, and the validators in ../shared."""
from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from components.intent.loading import SpecError, parse_stack_config
from components.intent.stack import StackSpec
from components.preview.run import Preview, preview

ROOT = Path(__file__).resolve().parents[1]
STACKS_DIR = ROOT / "stacks"
SHARED = ROOT.parent / "shared"
STACK_FILES = sorted(STACKS_DIR.glob("Pulumi.*.yaml"))
STACK_NAMES = [p.name.split(".")[1] for p in STACK_FILES]


def stack_config(stack: str) -> dict[str, Any]:
    """A stack file's `config:` mapping, as YAML gives it (structured, not JSON text)."""
    return yaml.safe_load((STACKS_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]


# The sagemaker-prod llama-8b policy and SLO the SageMaker compiler, component and operations
# tests assert on (a floor of 2 plus a spare, concurrency 24, a 20 s latency objective): pinned
# here so that tuning the shipped stack does not move what those tests cover.
SAGEMAKER_LLAMA_PINNED: dict[str, Any] = {
    "autoscaling": {"signal": "concurrency", "target": 24, "min_replicas": 2, "max_replicas": 6, "warm_pool": 1,
                    "scale_up_window_s": 60, "scale_down_window_s": 900},
    "slo": {"ttft_p99_ms": 2500, "tpot_p99_ms": 75, "latency_p99_ms": 20000, "error_rate": 0.01},
}


def sagemaker_prod_llama() -> dict[str, Any]:
    """sagemaker-prod's llama-8b as the stack file writes it, with the pinned policy and SLO."""
    raw = copy.deepcopy(stack_config("sagemaker-prod")["ml-serving:models"][0])
    assert raw["name"] == "llama-8b"
    return {**raw, **copy.deepcopy(SAGEMAKER_LLAMA_PINNED)}


def parse(config: dict[str, Any], source: str = "stacks/Pulumi.test.yaml") -> StackSpec:
    return parse_stack_config(config, source)


def problems_of(config: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse(config)
    return caught.value.problems


@pytest.fixture
def dev_config() -> dict[str, Any]:
    return copy.deepcopy(stack_config("dev"))


@pytest.fixture(scope="session")
def previews() -> Callable[[str], Preview]:
    """Previews are a few seconds each; run each stack once per session."""
    cache: dict[str, Preview] = {}

    def get(stack: str) -> Preview:
        if stack not in cache:
            cache[stack] = preview(STACKS_DIR / f"Pulumi.{stack}.yaml")
        return cache[stack]

    return get


def _require_shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent: the CRD schemas and validators come from ../shared beside the project")
    return path


@pytest.fixture(scope="session")
def crd_validator() -> Callable[[dict[str, Any]], list[str]]:
    """Validate a custom resource strictly (unknown fields rejected) against the real CRDs."""
    import jsonschema

    tool = _require_shared(SHARED / "tools" / "crd_validate.py")
    spec = importlib.util.spec_from_file_location("crd_validate", tool)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    # The tool parses with PyYAML's pure-Python loader: 26 s for the 61 CRDs. libyaml's builds
    # the same schemas (compared when this was written) in 7 s.
    if getattr(yaml, "CSafeLoader", None) is not None:
        class _CLoader(yaml.CSafeLoader):
            pass

        for tag, constructor in module._Loader.yaml_constructors.items():
            if tag not in yaml.SafeLoader.yaml_constructors:
                _CLoader.add_constructor(tag, constructor)
        module._Loader = _CLoader
    schemas = module.load_crds(str(_require_shared(SHARED / "schemas")), strict=True)

    def validate(doc: dict[str, Any]) -> list[str]:
        entry = schemas.get((doc["apiVersion"], doc["kind"]))
        assert entry is not None, f"no CRD schema for {doc['apiVersion']} {doc['kind']} in ../shared/schemas"
        validator = jsonschema.Draft202012Validator(entry["schema"])
        return [f"{'.'.join(str(p) for p in e.path) or '<root>'}: {e.message}" for e in validator.iter_errors(doc)]

    return validate


@pytest.fixture(scope="session")
def builtin_validator() -> Callable[[dict[str, Any], str], None]:
    """Validate a built-in Kubernetes object with kubernetes-validate's bundled schemas (strict)."""
    import kubernetes_validate

    def validate(doc: dict[str, Any], kubernetes_version: str) -> None:
        kubernetes_validate.validate(doc, kubernetes_version, strict=True)

    return validate
