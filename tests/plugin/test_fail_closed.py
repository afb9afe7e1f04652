"""Never green without judging (issue 11): a session that asked for runcompare and
judged nothing fails, saying what was configured and what did not happen."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from helpers import strip_colour

GATES = """\
baseline: runs/baseline.jsonl
candidate: runs/candidate.jsonl
metrics:
  acc:
    margin: 0.05
    slices: [lang:de]
"""


def _run_file(path: Path, accuracy: float, n: int = 300) -> Path:
    """``n`` datapoints (``lang:de`` and ``lang:en`` alternately), ``accuracy`` right."""
    path.parent.mkdir(parents=True, exist_ok=True)
    right = round(n * accuracy)
    lines = [json.dumps({"run": {"name": path.stem}})]
    for i in range(n):
        record = {
            "id": f"q{i}",
            "metrics": {"acc": (i * 7919) % n < right},
            "slices": [f"lang:{'de' if i % 2 else 'en'}"],
        }
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _repo(
    pytester: pytest.Pytester, gates: str = GATES, *, candidate: float = 0.78
) -> Path:
    root = pytester.path / "repo"
    _run_file(root / "runs" / "baseline.jsonl", 0.78)
    _run_file(root / "runs" / "candidate.jsonl", candidate)
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (root / "runcompare.yaml").write_text(textwrap.dedent(gates), encoding="utf-8")
    (root / "test_unit.py").write_text("def test_unit():\n    pass\n", "utf-8")
    return root


def _summary(result: pytest.RunResult) -> str:
    return "\n".join(strip_colour(line) for line in result.outlines)


def test_a_space_separated_candidate_outside_the_repo_is_still_judged(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pytest reads the value as a path argument and moves the rootdir: no matter."""
    root = _repo(pytester)
    artifacts = _run_file(pytester.path / "ci" / "artifacts" / "cand.jsonl", 0.3)
    monkeypatch.chdir(root)
    result = pytester.runpytest("-rA", "--runcompare-candidate", str(artifacts))
    out = _summary(result)
    assert f"rootdir: {pytester.path}\n" in out  # moved up, and no ini file found
    assert result.ret == 1
    assert "FAILED runcompare.yaml::acc - acc: 0.780 -> 0.300" in out
    assert "FAILED runcompare.yaml::acc[lang:de]" in out
    assert "PASSED test_unit.py::test_unit" in out


def test_a_gates_file_passed_twice_is_judged_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(pytester, candidate=0.3)
    monkeypatch.chdir(root)
    result = pytester.runpytest("-q", ".", "runcompare.yaml", "./runcompare.yaml")
    result.assert_outcomes(passed=1, failed=2)


def test_a_gates_file_without_metrics_fails_the_session(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = _repo(
        pytester, "baseline: runs/baseline.jsonl\ncandidate: runs/candidate.jsonl\n"
    )
    monkeypatch.chdir(root)
    result = pytester.runpytest("-q")
    assert result.ret == 1
    result.assert_outcomes(passed=1)
    assert (
        f"runcompare: nothing was judged: {root / 'runcompare.yaml'}: declares no "
        "gate (`metrics:` is missing or empty, or every metric has `gate: false`)"
    ) in _summary(result)


def test_a_gates_file_without_metrics_passes_when_a_fixture_judged(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = _repo(
        pytester, "baseline: runs/baseline.jsonl\ncandidate: runs/candidate.jsonl\n"
    )
    (root / "test_model.py").write_text(
        "def test_acc(runcompare):\n"
        "    runcompare.assert_no_regression('acc', margin=0.2)\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(root)
    result = pytester.runpytest("-q")
    result.assert_outcomes(passed=2)
    assert result.ret == 0


def test_an_option_given_and_every_gate_deselected_fails(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = _repo(pytester)
    monkeypatch.chdir(root)
    candidate = root / "runs" / "candidate.jsonl"
    result = pytester.runpytest(
        "-q", f"--runcompare-candidate={candidate}", "-k", "unit"
    )
    assert result.ret == 1
    assert (
        "runcompare: --runcompare-candidate given, but nothing was judged: all 2 "
        f"gate(s) of {root / 'runcompare.yaml'} were deselected"
    ) in _summary(result)


def test_an_option_given_and_no_gates_file_found_fails_not_exit_5(
    pytester: pytest.Pytester,
) -> None:
    base = _run_file(pytester.path / "b.jsonl", 0.78)
    pytester.makeini("[pytest]\n")
    result = pytester.runpytest("-q", f"--runcompare-baseline={base}")
    assert result.ret == 1
    assert (
        "runcompare: --runcompare-baseline given, but nothing was judged: no gates "
        "file was found (looked for runcompare.yaml in"
    ) in _summary(result)


def test_narrowing_the_selection_without_an_option_passes(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = _repo(pytester, candidate=0.3)
    monkeypatch.chdir(root)
    result = pytester.runpytest("-q", "test_unit.py")
    assert result.ret == 0
    result.assert_outcomes(passed=1)


def test_collect_only_does_not_fail(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(pytester)
    monkeypatch.chdir(root)
    assert pytester.runpytest("-q", "--collect-only").ret == 0


def test_last_failed_reruns_the_failing_slice_gate(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(pytester, candidate=0.3)
    monkeypatch.chdir(root)
    pytester.runpytest("-q").assert_outcomes(passed=1, failed=2)
    for flag in ("--lf", "--ff"):
        result = pytester.runpytest("-rA", flag)
        out = _summary(result)
        assert "FAILED runcompare.yaml::acc[lang:de]" in out, flag
        assert "FAILED runcompare.yaml::acc -" in out, flag
    result = pytester.runpytest("-rA", "runcompare.yaml::acc[lang:de]")
    result.assert_outcomes(failed=1)


def test_a_mistyped_baseline_names_its_line_and_the_similar_path(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = _repo(pytester, GATES.replace("runs/baseline.jsonl", "runs/basline.jsonl"))
    monkeypatch.chdir(root)
    result = pytester.runpytest("-q")
    assert result.ret == 1
    out = _summary(result)
    assert (
        f"no baseline at {root / 'runs' / 'basline.jsonl'} (set by "
        f"{root / 'runcompare.yaml'}:1: baseline), but similar paths exist: "
        f"{root / 'runs' / 'baseline.jsonl'}. Fix the path;"
    ) in out
    assert "to create it from this candidate" not in out


def test_a_wrong_marker_path_is_one_paragraph(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(pytester)
    (root / "tests").mkdir()
    (root / "tests" / "test_other.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.runcompare(candidate='runs/other.jsonl')\n"
        "def test_other(run_comparison):\n"
        "    pass\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(root)
    result = pytester.runpytest("-q", "tests")
    out = _summary(result)
    message = (
        "tests/test_other.py::test_other: @pytest.mark.runcompare(candidate="
        f"'runs/other.jsonl'): no run at {root / 'tests' / 'runs' / 'other.jsonl'}. "
        f"Marker paths are relative to the test file's folder ({root / 'tests'})"
    )
    assert message in out
    assert "site-packages" not in out
    assert "pytest_runcompare/" not in out
    result.assert_outcomes(errors=1)


def test_power_warnings_point_at_the_gates_file_line(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = _repo(pytester)
    monkeypatch.chdir(root)
    out = _summary(pytester.runpytest("-q"))
    assert f"{root / 'runcompare.yaml'}:4: RunCompareWarning: " in out
    assert "collection.py" not in out
