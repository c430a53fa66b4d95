"""Any bad value anywhere in a stack file gives a clean SpecError, never a crash."""
from __future__ import annotations

import copy
import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.intent.loading import SpecError, parse_stack_config
from components.intent.stack import StackSpec
from components.preview.stackfile import read_stack_file
from tests.conftest import STACK_NAMES, STACKS_DIR, stack_config

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


# --- the file itself: duplicate keys, namespace typos, aliases ----------------------------

def _clean_failure(text: str) -> SpecError | None:
    """Read `text` as `make synth` does; a failure must be a clean SpecError."""
    path = _FUZZ_DIR / "Pulumi.fuzz.yaml"
    path.write_text(text)
    try:
        config = read_stack_file(path, SOURCE)
        parse_stack_config(config, SOURCE)
    except SpecError as error:
        assert str(error).startswith(f"{SOURCE}: ")
        assert error.problems and "Traceback" not in str(error)
        assert max(len(p) for p in error.problems) < 1200
        return error
    return None


_FUZZ_DIR = Path(tempfile.mkdtemp(prefix="ml-serving-fuzz-"))
_KEY_LINE = re.compile(r"^(\s*)([A-Za-z_][\w:.-]*):( .*)?$")


def _stack_text(stack: str) -> str:
    return (STACKS_DIR / f"Pulumi.{stack}.yaml").read_text()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(STACK_NAMES), st.data())
def test_a_repeated_key_line_anywhere_is_reported_as_written_twice(stack, data):
    lines = _stack_text(stack).splitlines()
    # Mapping keys with a scalar value, outside list items' first lines: repeating one makes a duplicate.
    candidates = [i for i, line in enumerate(lines) if _KEY_LINE.match(line) and (_KEY_LINE.match(line).group(3) or "").strip()]
    index = data.draw(st.sampled_from(candidates))
    key = _KEY_LINE.match(lines[index]).group(2)
    mutated = [*lines[: index + 1], lines[index], *lines[index + 1 :]]
    error = _clean_failure("\n".join(mutated) + "\n")
    assert error is not None
    assert any(f"written twice, at lines {index + 1} and {index + 2};" in p and key in p for p in error.problems), error.problems


def _one_edit(word: str, draw) -> str:
    position = draw(st.integers(0, len(word) - 1))
    kind = draw(st.sampled_from(["delete", "replace", "insert", "upper", "swap"]))
    if kind == "delete":
        return word[:position] + word[position + 1:]
    if kind == "replace":
        return word[:position] + draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz_-.")) + word[position + 1:]
    if kind == "insert":
        return word[:position] + draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz_-")) + word[position:]
    if kind == "upper":
        return word.upper()
    return word[:position] + word[position + 1: position + 2] + word[position] + word[position + 2:]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(STACK_NAMES), st.data())
def test_a_typo_in_the_namespace_is_never_ignored(stack, data):
    text = _stack_text(stack)
    keys = re.findall(r"^  ml-serving:(\w+):", text, flags=re.M)
    key = data.draw(st.sampled_from(keys))
    namespace = _one_edit("ml-serving", data.draw)
    if namespace == "ml-serving" or ":" in namespace or not namespace:
        return
    mutated = text.replace(f"\n  ml-serving:{key}:", f"\n  {namespace}:{key}:", 1)
    error = _clean_failure(mutated)
    assert error is not None, f"{namespace}:{key} was accepted"
    assert any(p.startswith(f"{namespace}:{key}: unknown namespace") for p in error.problems), error.problems


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 12), st.integers(1, 12), st.sampled_from(STACK_NAMES))
def test_alias_chains_are_read_or_refused_cleanly(width, depth, stack):
    chain = ["  x0: &x0 [1]"]
    for level in range(1, depth + 1):
        chain.append(f"  x{level}: &x{level} [" + ", ".join([f"*x{level - 1}"] * width) + "]")
    expanded = sum(width ** level for level in range(depth + 1)) * 2
    text = _stack_text(stack).replace("\nconfig:\n", "\nconfig:\n" + "\n".join(chain).replace("  x", "  ml-serving:x") + "\n", 1)
    error = _clean_failure(text)
    assert error is not None  # ml-serving:x0... are unknown keys at best
    if expanded > 150_000:
        assert any("aliases expand this document" in p for p in error.problems), error.problems
