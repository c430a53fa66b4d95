"""Read the stack's configuration from the Pulumi engine and validate it, once."""
from __future__ import annotations

import os
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from components.intent.loading import SpecError, parse_stack_config
from components.intent.stack import StackSpec

# The offline preview can run any file; it names it here so error messages point at it.
STACK_FILE_ENV = "ML_SERVING_STACK_FILE"


def stack_file() -> str:
    return os.environ.get(STACK_FILE_ENV) or f"stacks/Pulumi.{pulumi.get_stack()}.yaml"


def _config_map() -> dict[str, Any]:
    # pulumi.Config reads one known key at a time; spotting a misspelled key needs them all.
    # A real run passes them in PULUMI_CONFIG, mocks through set_all_config.
    merged = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    return merged


def load_stack_spec() -> StackSpec:
    """The validated StackSpec, or a clean RunError (no traceback) naming every problem."""
    try:
        return parse_stack_config(_config_map(), stack_file())
    except SpecError as error:
        raise pulumi.RunError(str(error)) from None
