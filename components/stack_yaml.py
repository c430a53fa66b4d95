"""Read a stack file's YAML strictly: bounded in size and alias expansion, duplicate keys refused.

PyYAML keeps the last of two equal keys without a word, so a second `ml-serving:models:`
would silently replace the first; and an alias bomb (a few hundred bytes expanding to
billions of values) would hang every tool that walks the result. Both are caught here on
the composed node graph, before any Python value is built. Used by the offline preview and
by the real program (components/stack_config.py), so `pulumi up` is held to the same rules.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# A stack file with the most models a spec allows (200) is under 300 KB; 1 MiB leaves
# room without letting a stray file or pasted blob through.
MAX_FILE_BYTES = 1024 * 1024
# Values once aliases are expanded: the largest real stack file has a few thousand.
MAX_EXPANDED_VALUES = 100_000
MAX_DEPTH = 50
# Keys Pulumi itself writes at the top level of a stack file (its ProjectStack type).
STACK_FILE_KEYS = ("config", "encryptionsalt", "encryptedkey", "secretsprovider", "environment")

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StackFileProblems(Exception):
    """The file cannot be read as a stack file; `problems` says why, each with its place."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class _Visit:
    node: yaml.Node
    path: str


def read_stack_yaml(path: Path) -> dict[str, Any]:
    """The parsed document (a mapping), or StackFileProblems naming every problem found."""
    try:
        if not path.is_file():
            what = "no such file" if not path.exists() else "not a regular file"
            raise StackFileProblems([f"cannot read the stack file: {what}"])
        with path.open("rb") as stream:
            # Never more than the limit plus one byte, whatever the file claims to be.
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise StackFileProblems([f"cannot read the stack file: {error.strerror}"]) from None
    if len(data) > MAX_FILE_BYTES:
        size = path.stat().st_size
        raise StackFileProblems(
            [f"the file is {size:,} bytes; a stack file is at most {MAX_FILE_BYTES:,} bytes (1 MiB)"]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise StackFileProblems([f"not UTF-8 text (byte {error.start + 1} is not valid UTF-8)"]) from None
    return parse_stack_yaml(text)


def parse_stack_yaml(text: str) -> dict[str, Any]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        _check_size(node)
        problems = _duplicate_keys(node)
        if problems:
            raise StackFileProblems(problems)
        document = loader.construct_document(node)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise StackFileProblems([f"not valid YAML{where}: {problem}"]) from None
    except RecursionError:
        raise StackFileProblems([f"nested deeper than {MAX_DEPTH} levels"]) from None
    finally:
        loader.dispose()
    if not isinstance(document, dict):
        raise StackFileProblems(["a stack file is a mapping with a `config:` mapping inside"])
    return document


def stack_file_problems(document: dict[Any, Any]) -> list[str]:
    """What is wrong with the file around its `config:` mapping (Pulumi's own top-level keys)."""
    problems = []
    for key in document:
        if key not in STACK_FILE_KEYS:
            text = str(key)[:60]
            close = difflib.get_close_matches(str(key).lower(), STACK_FILE_KEYS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{text}: not a stack file key{hint}; allowed: {', '.join(STACK_FILE_KEYS)}")
    if not isinstance(document.get("config", {}) or {}, dict):
        problems.append("config: a stack file's `config:` is a mapping of <namespace>:<key> to values")
    return problems


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_size(root: yaml.Node) -> None:
    """Count values as the document would be once every alias is expanded, without expanding.

    Each distinct node is counted once (aliases share nodes), children before parents.
    """
    expanded: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        children = _children(node)
        if not children_done:
            if key in expanded:
                continue
            if key in open_nodes:
                raise StackFileProblems(
                    [f"line {node.start_mark.line + 1}: an alias refers to the value that contains it"]
                )
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in expanded)
            continue
        open_nodes.discard(key)
        expanded[key] = 1 + sum(expanded[id(child)] for child in children)
        depth[key] = 1 + max((depth[id(child)] for child in children), default=0)
        line = node.start_mark.line + 1
        if expanded[key] > MAX_EXPANDED_VALUES:
            raise StackFileProblems(
                [
                    f"line {line}: aliases expand this document to more than {MAX_EXPANDED_VALUES:,} values "
                    "(an alias bomb?); write the values out or use fewer aliases"
                ]
            )
        if depth[key] > MAX_DEPTH:
            raise StackFileProblems([f"line {line}: nested deeper than {MAX_DEPTH} levels"])


def _key_text(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else f"<{node.id} key>"


def _duplicate_keys(root: yaml.Node) -> list[str]:
    """Every key written twice in one mapping, at any depth, with both lines."""
    problems: list[tuple[int, str]] = []
    seen: set[int] = set()
    todo = [_Visit(root, "")]
    while todo:
        visit = todo.pop()
        node = visit.node
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            todo.extend(_Visit(child, f"{visit.path}[{i}]") for i, child in enumerate(node.value))
            continue
        if not isinstance(node, yaml.MappingNode):
            continue
        first_line: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            name = _key_text(key_node)
            line = key_node.start_mark.line + 1
            where = _join(visit, name)
            signature = (key_node.tag, name)
            if name == "<<" and key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if signature in first_line:
                lines = f"lines {first_line[signature]} and {line}" if first_line[signature] != line else f"line {line}"
                problems.append(
                    (
                        first_line[signature],
                        f"{where}: written twice, at {lines}; YAML would keep only the last one, so remove "
                        "or merge one of them",
                    )
                )
            else:
                first_line[signature] = line
            todo.append(_Visit(value_node, where))
    return [message for _, message in sorted(problems)]


def _join(parent: _Visit, name: str) -> str:
    # Keys under `config:` are shown as Pulumi names them (ml-serving:models), not config.ml-serving:models.
    if parent.path in ("", "config"):
        return name
    return f"{parent.path}.{name}"
