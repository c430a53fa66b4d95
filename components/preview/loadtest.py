"""`make loadtest STACK=<s> [MODEL=<m>] [IMAGE=<ref@sha256:…>] [SDK_IMAGE=<ref@sha256:…>]`: one
load-test Job and its NetworkPolicies per model, written to build/<stack>/loadtest/<model>.yaml
(components/compilers/loadtest.py; how to run them: docs/performance.md).

The vLLM Job runs the stack's vLLM image when it is pinned prebuilt, else IMAGE (the digest
`pulumi stack output` reports for the image we built), else the upstream vLLM image our
Dockerfile builds on, by digest: it carries the same `vllm bench serve`. perf_analyzer comes
from the Triton SDK image, whose digest could not be read here: pass SDK_IMAGE by digest.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from components.compilers import loadtest
from components.intent.loading import SpecError, parse_stack_config
from components.intent.stack import StackSpec
from components.intent.versions import IMAGES, LOADTEST_IMAGES
from components.planning.capacity import DEFAULT_WORKLOAD, service_model
from components.preview.stackfile import read_stack_file, stack_name

ROOT = Path(__file__).resolve().parents[2]
DIGEST = "@sha256:"


class _PlainDumper(yaml.SafeDumper):
    """Containers share their env and mounts: write them out in full, not as YAML aliases."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _request_shape(model) -> tuple[int, int]:
    """The model's declared request shape, else the planner's default, fitted to its context."""
    traffic = model.traffic
    prompt, output = DEFAULT_WORKLOAD.prompt_tokens, DEFAULT_WORKLOAD.output_tokens
    if traffic is not None and traffic.csv is None:
        prompt, output = traffic.prompt_tokens, traffic.output_tokens
    limit = model.vllm.max_model_len if model.vllm is not None else prompt + output
    prompt = min(prompt, max(1, limit - output))
    return prompt, min(output, max(1, limit - prompt))


def manifests(spec: StackSpec, names: list[str] | None, image: str | None, sdk_image: str | None) -> dict[str, list[dict]]:
    out = {}
    for model in spec.models:
        if names and model.name not in names:
            continue
        if model.runtime == "vllm":
            prebuilt = spec.images.vllm.prebuilt
            chosen = prebuilt or image or IMAGES["vllm"]
            prompt, output = _request_shape(model)
            slots = service_model(model).slots
            job = loadtest.vllm_job(model, chosen, slots, prompt, output)
        else:
            job = loadtest.triton_job(model, sdk_image or LOADTEST_IMAGES["triton-sdk"])
        out[model.name] = [*loadtest.network_policies(model), job]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.preview.loadtest", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--stack", default="dev")
    source.add_argument("--stack-file", type=Path)
    parser.add_argument("--model", action="append", help="only these models (repeatable)")
    parser.add_argument("--image", help="the vLLM image to run vllm bench serve from, by digest")
    parser.add_argument("--sdk-image", help="the Triton SDK image (perf_analyzer), by digest")
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    args = parser.parse_args(argv)
    stack_file = args.stack_file or ROOT / "stacks" / f"Pulumi.{args.stack}.yaml"
    shown = str(stack_file)
    problems = [f"--{flag}: {value} is not pinned by digest (<registry>/<repository>@sha256:<64 hex>)"
                for flag, value in (("image", args.image), ("sdk-image", args.sdk_image))
                if value is not None and DIGEST not in value]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    try:
        spec = parse_stack_config(read_stack_file(stack_file, shown), shown)
    except SpecError as error:
        print(error, file=sys.stderr)
        return 2
    if spec.target != "eks":
        print(f"{shown}: load-test Jobs run in the EKS cluster; a SageMaker stack has none", file=sys.stderr)
        return 2
    unknown = sorted(set(args.model or []) - {m.name for m in spec.models})
    if unknown:
        print(f"{shown}: no model named {', '.join(unknown)}; models: {', '.join(m.name for m in spec.models)}",
              file=sys.stderr)
        return 2
    folder = args.out / stack_name(stack_file) / "loadtest"
    folder.mkdir(parents=True, exist_ok=True)
    for name, documents in manifests(spec, args.model, args.image, args.sdk_image).items():
        path = folder / f"{name}.yaml"
        path.write_text(yaml.dump_all(documents, Dumper=_PlainDumper, sort_keys=False), encoding="utf-8")
        print(f"Wrote {path}")
        if any(DIGEST not in c["image"] for d in documents if d["kind"] == "Job"
               for c in d["spec"]["template"]["spec"]["containers"]):
            print(f"  {name}: the image is not pinned by digest; pass SDK_IMAGE=<ref>@sha256:<digest>", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
