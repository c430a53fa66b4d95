"""Reading a stack file's YAML: duplicates, aliases, size and depth, and Pulumi's own keys."""
import pytest

from components.stack_yaml import MAX_FILE_BYTES, StackFileProblems, parse_stack_yaml, read_stack_yaml


def problems(text: str) -> list[str]:
    with pytest.raises(StackFileProblems) as caught:
        parse_stack_yaml(text)
    return caught.value.problems


def test_duplicate_keys_at_every_depth_are_all_reported_with_both_lines():
    text = (
        "config:\n"                                   # 1
        "  ml-serving:models: []\n"                   # 2
        "  ml-serving:cluster:\n"                     # 3
        "    gpu_pools:\n"                            # 4
        "      - name: l4\n"                          # 5
        "        max_size: 3\n"                       # 6
        "        max_size: 4\n"                       # 7
        "    kubernetes_version: '1.35'\n"            # 8
        "  ml-serving:models: [{name: a}]\n"          # 9
        "  ml-serving:tags: {team: a, team: b}\n"     # 10
    )
    assert problems(text) == [
        "ml-serving:models: written twice, at lines 2 and 9; YAML would keep only the last one, so remove or merge one of them",
        "ml-serving:cluster.gpu_pools[0].max_size: written twice, at lines 6 and 7; YAML would keep only the last one, "
        "so remove or merge one of them",
        "ml-serving:tags.team: written twice, at line 10; YAML would keep only the last one, so remove or merge one of them",
    ]


def test_a_second_config_section_is_a_duplicate_too():
    assert problems("config: {a: 1}\nconfig: {b: 2}\n") == [
        "config: written twice, at lines 1 and 2; YAML would keep only the last one, so remove or merge one of them"
    ]


def test_merge_keys_and_plain_aliases_are_fine():
    doc = parse_stack_yaml("config:\n  base: &slo {error_rate: 0.01}\n  other:\n    <<: *slo\n    extra: 1\n  again: *slo\n")
    assert doc["config"]["other"] == {"error_rate": 0.01, "extra": 1}
    assert doc["config"]["again"] == {"error_rate": 0.01}


def billion_laughs(levels: int = 9) -> str:
    lines = ["config:", '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        name, prev = chr(97 + i), chr(96 + i)
        lines.append(f"  {name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_before_anything_is_expanded():
    assert problems(billion_laughs()) == [
        "line 7: aliases expand this document to more than 100,000 values (an alias bomb?); write the values out "
        "or use fewer aliases"
    ]


def test_an_alias_inside_itself_is_refused():
    assert problems("config:\n  a: &a [*a]\n") == ["line 2: an alias refers to the value that contains it"]


def test_deep_nesting_is_refused():
    assert problems("config: " + "[" * 60 + "]" * 60 + "\n") == ["line 1: nested deeper than 50 levels"]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "Pulumi.big.yaml"
    big.write_text("config:\n  ml-serving:environment: " + "x" * (10 * 1024 * 1024) + "\n")
    with pytest.raises(StackFileProblems) as caught:
        read_stack_yaml(big)
    assert caught.value.problems == [
        f"the file is {big.stat().st_size:,} bytes; a stack file is at most {MAX_FILE_BYTES:,} bytes (1 MiB)"
    ]


def test_not_a_mapping():
    assert problems("- config\n") == ["a stack file is a mapping with a `config:` mapping inside"]


def test_broken_yaml_says_where():
    assert problems("config:\n  a: [b\n")[0].startswith("not valid YAML at line 3, column 1:")


def test_a_directory_or_binary_file_is_refused_with_a_reason(tmp_path):
    with pytest.raises(StackFileProblems) as caught:
        read_stack_yaml(tmp_path)
    assert caught.value.problems == ["cannot read the stack file: not a regular file"]
    binary = tmp_path / "Pulumi.bin.yaml"
    binary.write_bytes(b"config:\n  a: \xff\xfe\n")
    with pytest.raises(StackFileProblems) as caught:
        read_stack_yaml(binary)
    assert caught.value.problems == ["not UTF-8 text (byte 14 is not valid UTF-8)"]
