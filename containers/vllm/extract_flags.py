"""Extract the `vllm serve` flags a vLLM source tree defines, without importing vLLM.

Run against an unpacked sdist (`pip download vllm==X --no-deps --no-binary :all:` fetches
it; the build step may fail, the tarball is what matters):

    python containers/vllm/extract_flags.py vllm-0.31.0 > containers/vllm/flags-v0.31.0.txt

Two places define the flags `vllm serve` parses:
- vllm/engine/arg_utils.py: every `add_argument("--flag", ...)` call (engine flags);
- vllm/entrypoints/launchers/cli_args.py: the `add_argument` calls of `make_arg_parser`
  and the fields of the frontend dataclasses, each registered as `--field-name`.
Boolean config fields are registered with argparse.BooleanOptionalAction, which also
accepts `--no-<flag>`; that form is not listed, so the renderer must use `--flag=false`
style only for flags the list shows.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ENGINE_ARGS = "vllm/engine/arg_utils.py"
FRONTEND_ARGS = "vllm/entrypoints/launchers/cli_args.py"
# The frontend classes whose fields `add_cli_args` turns into flags.
FRONTEND_CLASSES = ("BaseFrontendArgs", "FrontendArgs")


def _literal_flags(tree: ast.AST) -> set[str]:
    flags = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("--"):
                    flags.add(arg.value)
    return flags


def _dataclass_flags(tree: ast.Module) -> set[str]:
    flags = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in FRONTEND_CLASSES:
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    flags.add("--" + item.target.id.replace("_", "-"))
    return flags


def extract(root: Path) -> list[str]:
    engine = ast.parse((root / ENGINE_ARGS).read_text())
    frontend = ast.parse((root / FRONTEND_ARGS).read_text())
    return sorted(_literal_flags(engine) | _literal_flags(frontend) | _dataclass_flags(frontend))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: extract_flags.py VLLM_SOURCE_DIR", file=sys.stderr)
        return 2
    for flag in extract(Path(argv[1])):
        print(flag)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
