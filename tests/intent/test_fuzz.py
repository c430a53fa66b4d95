"""Any bad value anywhere in a stack file gives a clean SpecError, never a crash."""
from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.intent.loading import SpecError, parse_stack_config
from components.intent.stack import StackSpec
from tests.conftest import STACK_NAMES, stack_config

SOURCE = "stacks/Pulumi.fuzz.yaml"

junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    paths = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            paths += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            paths += _paths(value, (*prefix, index))
    return paths


def _mutate(config: dict[str, Any], path: tuple, action: str, value: Any) -> dict[str, Any]:
    mutated = copy.deepcopy(config)
    if not path:
        return mutated
    parent = mutated
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "replace":
        parent[last] = value
    elif action == "delete":
        del parent[last]
    elif action == "extra" and isinstance(parent[last], dict):
        parent[last]["unexpected_field"] = value
    return mutated


@st.composite
def broken_configs(draw) -> dict[str, Any]:
    config = stack_config(draw(st.sampled_from(STACK_NAMES)))
    path = draw(st.sampled_from(_paths(config)))
    action = draw(st.sampled_from(["replace", "delete", "extra"]))
    return _mutate(config, path, action, draw(junk))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken_configs())
def test_every_mutation_validates_or_fails_cleanly(config):
    try:
        spec = parse_stack_config(config, SOURCE)
    except SpecError as error:
        text = str(error)
        assert text.startswith(f"{SOURCE}: ")
        assert error.problems, "a SpecError names at least one problem"
        assert all(p.split(":", 1)[0] for p in error.problems)
        assert "Traceback" not in text
    else:
        assert isinstance(spec, StackSpec)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=20), junk, max_size=6))
def test_arbitrary_top_level_maps_fail_cleanly(config):
    try:
        parse_stack_config(config, SOURCE)
    except SpecError as error:
        assert error.problems
