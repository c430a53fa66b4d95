"""Read the stack's configuration from the Pulumi engine and validate it, once."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from components.intent.loading import SpecError, parse_stack_config
from components.intent.stack import StackSpec
from components.stack_yaml import StackFileProblems, read_stack_yaml, stack_file_problems

# The offline preview can run any file; it names it here so error messages point at it.
# It has read that file strictly itself (components/preview/stackfile.py).
STACK_FILE_ENV = "ML_SERVING_STACK_FILE"


def stack_file() -> str:
    return os.environ.get(STACK_FILE_ENV) or f"stacks/Pulumi.{pulumi.get_stack()}.yaml"


def _config_map() -> dict[str, Any]:
    # pulumi.Config reads one known key at a time; spotting a misspelled key needs them all.
    # A real run passes them in PULUMI_CONFIG, mocks through set_all_config.
    merged = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    return merged


def _file_problems(path: Path) -> list[str]:
    """`pulumi up` hands the program the engine's parsed config, in which a duplicate key has
    already replaced its twin: read the file itself to see what was written."""
    if not path.is_file():
        return []
    try:
        return stack_file_problems(read_stack_yaml(path))
    except StackFileProblems as error:
        return error.problems


def load_stack_spec() -> StackSpec:
    """The validated StackSpec, or a clean RunError (no traceback) naming every problem."""
    source = stack_file()
    try:
        if STACK_FILE_ENV not in os.environ:
            problems = _file_problems(Path(source))
            if problems:
                raise SpecError(source, problems)
        return parse_stack_config(_config_map(), source)
    except SpecError as error:
        raise pulumi.RunError(str(error)) from None
