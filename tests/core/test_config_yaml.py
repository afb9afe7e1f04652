"""Safe YAML in run and gates files: the 1.2 core schema, duplicate keys, alias bombs."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from pytest_runcompare import load_run, yaml_text
from pytest_runcompare.config import load_gates_file
from pytest_runcompare.errors import ConfigError, RunFormatError


def _bomb(levels: int, width: int = 9) -> str:
    """The billion-laughs document: each level lists the previous one ``width`` times."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        items = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"l{level}: &l{level} [{items}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("010", 10),  # decimal in YAML 1.2 (8 in YAML 1.1)
        ("0o17", 15),
        ("0x1F", 31),
        ("-42", -42),
        ("+7", 7),
        ("1_000", "1_000"),  # 1000 in YAML 1.1
        ("1:30", "1:30"),  # 90 in YAML 1.1
        ("no", "no"),  # false in YAML 1.1
        ("yes", "yes"),
        ("off", "off"),
        ("True", True),
        ("FALSE", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("-.inf", -math.inf),
        ("2026-02-30", "2026-02-30"),  # a timestamp in YAML 1.1, and an invalid one
        ("0b101", "0b101"),
    ],
)
def test_plain_scalars_resolve_with_the_yaml_1_2_core_schema(
    written: str, value: object
) -> None:
    loaded = yaml_text.load(f"value: {written}\n")
    assert loaded == {"value": value}
    assert type(loaded["value"]) is type(value)


def test_nan_is_a_float() -> None:
    assert math.isnan(yaml_text.load("x: .NaN\n")["x"])


def test_ids_and_groups_keep_the_text_they_were_written_as() -> None:
    loaded = yaml_text.load("id: 010\ngroup: 0x1F\nids: [1:30, 007, 5, q-1]\nn: 010\n")
    assert loaded == {
        "id": "010",
        "group": "0x1F",
        "ids": ["1:30", "007", "5", "q-1"],
        "n": 10,
    }


def test_run_yaml_ids_and_outputs_are_not_coerced(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(
        "run: {name: r}\n"
        "datapoints:\n"
        "  - {id: 010, output: no, metrics: {acc: 1}}\n"
        "  - {id: 1:30, output: off, metrics: {acc: 0}}\n"
        "  - {id: 0x1F, output: 1_000, metrics: {acc: 1}}\n"
    )
    run = load_run(path)
    assert list(run.ids) == ["010", "1:30", "0x1F"]
    assert [run.datapoint(i).output for i in run.ids] == ["no", "off", "1_000"]


def test_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("run: {name: r}\ndatapoints:\n  - id: a\n    id: b\n")
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}:4: duplicate key 'id' (first at line 3, again at line 4)"
        ),
    ):
        load_run(path)


def test_repeated_metric_block_in_gates_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runcompare.yaml"
    path.write_text(
        "metrics:\n"
        "  acc:\n"
        "    margin: 0.02\n"
        "  f1:\n"
        "    margin: 0.1\n"
        "  acc:\n"
        "    mode: regression_detection\n"
    )
    with pytest.raises(
        ConfigError,
        match=re.escape(
            f"{path}:6: duplicate key 'acc' (first at line 2, again at line 6) "
            "(the second would silently replace the first: keep one)"
        ),
    ):
        load_gates_file(path)


@pytest.mark.parametrize("levels", [7, 9, 30])
def test_alias_bomb_in_gates_file_is_refused_naming_the_limit(
    tmp_path: Path, levels: int
) -> None:
    path = tmp_path / "runcompare.yaml"
    path.write_text(_bomb(levels))
    with pytest.raises(ConfigError) as raised:
        load_gates_file(path)
    assert str(raised.value) == (
        f"{path}:1: its aliases expand too far: more than 1,000,000 YAML nodes after "
        "aliases are expanded (at least 1,000,001); raise the limit with "
        "RUNCOMPARE_MAX_YAML_NODES=<number> if this input is genuine"
    )


def test_alias_bomb_in_run_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(_bomb(8) + "datapoints: []\n")
    with pytest.raises(RunFormatError, match="RUNCOMPARE_MAX_YAML_NODES"):
        load_run(path)


def test_yaml_nodes_limit_can_be_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(yaml_text.load(_bomb(5))["l5"]) == 9  # about 664,000 nodes expanded
    text = _bomb(5) + "more: [*l4, *l4, *l4, *l4, *l4, *l4, *l4]\n"  # 1.13 million
    with pytest.raises(RunFormatError, match="at least 1,000,001"):
        yaml_text.load(text)
    monkeypatch.setenv("RUNCOMPARE_MAX_YAML_NODES", "2M")
    assert len(yaml_text.load(text)["more"]) == 7


def test_small_aliases_are_still_read() -> None:
    loaded = yaml_text.load("base: &b {margin: 0.02}\nother: *b\n")
    assert loaded == {"base": {"margin": 0.02}, "other": {"margin": 0.02}}


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(RunFormatError, match=r"^line 1: a YAML alias refers to a node"):
        yaml_text.load("a: &a [1, *a]\n")


def test_merge_keys_are_plain_keys_in_yaml_1_2() -> None:
    assert yaml_text.load("a: &a {x: 1}\nb: {<<: *a}\n")["b"] == {"<<": {"x": 1}}


@pytest.mark.parametrize(
    "text",
    [
        "x: !!python/object/apply:os.system ['echo pwned']\n",
        "id: !!python/name:os.system\n",
        "x: !!binary aGVsbG8=\n",
        "x: !!set {a: null}\n",
        "x: !custom 1\n",
    ],
)
def test_tags_that_construct_objects_are_refused(text: str) -> None:
    with pytest.raises(RunFormatError, match=r"^line 1: YAML tag not allowed"):
        yaml_text.load(text)


def test_unhashable_key_is_a_clear_error() -> None:
    with pytest.raises(
        RunFormatError, match="a mapping key must be a string or a number"
    ):
        yaml_text.load("? [a, b]\n: 1\n")


def test_number_with_too_many_digits_is_refused() -> None:
    with pytest.raises(RunFormatError, match="more than 400 digits in one number"):
        yaml_text.load("x: 1" + "0" * 400 + "\n")


def test_gates_file_error_under_an_alias_names_the_alias_line(tmp_path: Path) -> None:
    path = tmp_path / "runcompare.yaml"
    path.write_text(
        "defaults: {alpha: 0.05}\n"
        "metrics:\n"
        "  acc: &gate {margin: 0.02}\n"
        "  f1: *gate\n"
        "  bad: {margin: 0.02, aggregate: [mean]}\n"
    )
    with pytest.raises(
        ConfigError, match=re.escape(f"{path}:5: metrics.bad.aggregate")
    ):
        load_gates_file(path)
    assert [s.gate.metric for s in load_gates_file(_without_bad(path)).gates] == [
        "acc",
        "f1",
    ]


def _without_bad(path: Path) -> Path:
    text = path.read_text().splitlines()[:-1]
    path.write_text("\n".join(text) + "\n")
    return path


@pytest.mark.parametrize(
    "text", ["1e5", "089", "0o7", "0x1F", "no", "1_000", "010", ".5", "~", "1:30", ""]
)
def test_dumped_strings_read_back_as_strings(text: str) -> None:
    data = {"name": text, "params": {"lr": text}, "n": 5, "x": 1.5, "ok": True}
    assert yaml_text.load(yaml_text.dump(data)) == data


def test_written_run_yaml_keeps_number_like_strings(tmp_path: Path) -> None:
    from pytest_runcompare import RunWriter

    with RunWriter(tmp_path / "run", name="1e5", params={"tag": "089"}) as writer:
        writer.add(id="a", metrics={"acc": 1.0})
    run = load_run(tmp_path / "run")
    assert (run.name, run.meta.params["tag"]) == ("1e5", "089")
