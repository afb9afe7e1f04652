"""Power made visible at collection: an underpowered gate warns, or fails to collect.

The repository is the README's: ``exact_match`` with ``margin: 2%`` on n = 200
datapoints at a rate of 0.79 (a margin of 0.0158), which an unchanged candidate
re-drawn at random passes about one time in ten. The gates file assumes that
(``power_correlation: 0``); without it the plan measures the correlation on the
candidate.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from scipy import stats

GATES = """\
baseline: runs/baseline.jsonl
candidate: runs/candidate.jsonl
defaults:
  alpha: 0.05
{defaults}{rho}metrics:
  exact_match:
    margin: 2%
  score:
    margin: 0.05
"""


def _rows(rate: int) -> list[dict[str, object]]:
    return [
        {
            "id": f"q{i}",
            "metrics": {"exact_match": i % 100 < rate, "score": 0.5 + 0.001 * (i % 10)},
        }
        for i in range(200)
    ]


def _repo(
    pytester: pytest.Pytester,
    defaults: str = "",
    rho: str = "  power_correlation: 0\n",
) -> pytest.Pytester:
    """The baseline at 0.79; the candidate better (0.85), so that both gates pass."""
    runs = pytester.path / "runs"
    runs.mkdir()
    for name, rate in (("baseline", 79), ("candidate", 85)):
        lines = [json.dumps({"run": {"name": name}})]
        lines += [json.dumps(r) for r in _rows(rate)]
        (runs / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
    (pytester.path / "runcompare.yaml").write_text(
        GATES.format(defaults=defaults, rho=rho)
    )
    return pytester


def _expected() -> tuple[float, float, int]:
    """Closed form at correlation 0: the pass chance, the MDE, the n needed."""
    p, n, margin, w = 0.79, 200, 0.02 * 0.79, 0.98  # w: cand - (1 - r) * base
    se = math.sqrt((1 + w * w) * p * (1 - p) * n / (n - 1) / n)
    z = stats.norm.ppf(0.95) + stats.norm.ppf(0.8)
    chance = stats.norm.cdf(margin / se - stats.norm.ppf(0.95))
    return chance, z * se, math.ceil(z**2 * se**2 * n / margin**2)


def test_underpowered_gate_warns_at_collection(pytester: pytest.Pytester) -> None:
    chance, mde, needed = _expected()
    result = _repo(pytester).runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert result.stdout.str().count("an unchanged candidate passes only") == 1
    result.stdout.fnmatch_lines(
        [
            "*RunCompareWarning: *runcompare.yaml:7: gate 'exact_match': an unchanged "
            f"candidate passes only {chance:.0%} of the time: the margin 2% of the "
            "baseline (0.0158) is below the minimum detectable effect "
            f"{mde:.3g} at n = 200 datapoints (alpha = 0.05, 80% power); the margin "
            f"needs about {needed:,} datapoints, or a margin of at least {mde:.3g} "
            "(from the baseline alone, assuming a candidate correlated 0 with it*"
        ]
    )
    assert "gate 'score'" not in result.stdout.str()  # well powered: no warning


def test_collect_only_warns_too(pytester: pytest.Pytester) -> None:
    result = _repo(pytester).runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["*gate 'exact_match': an unchanged candidate*"])
    assert result.ret == 0


def test_power_fail_is_a_collection_error_naming_the_gate(
    pytester: pytest.Pytester,
) -> None:
    chance, mde, needed = _expected()
    result = _repo(pytester, "  power: fail\n").runpytest(
        "-q", "-p", "no:cacheprovider"
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*1 gate(s) cannot be expected to pass even if nothing changed "
            "(defaults.power: fail; from the baseline alone*",
            "*runcompare.yaml:8: gate 'exact_match': an unchanged candidate passes only"
            f" {chance:.0%}*margin 2% of the baseline (0.0158)*minimum detectable "
            f"effect {mde:.3g}*needs about {needed:,} datapoints*",
        ]
    )


@pytest.mark.parametrize("line", ["  power: off\n", "  power_warn_below: 0.05\n"])
def test_power_off_and_a_lower_threshold_stay_quiet(
    pytester: pytest.Pytester, line: str
) -> None:
    result = _repo(pytester, line).runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert "an unchanged candidate" not in result.stdout.str()


def test_an_assumed_correlation_is_stated_and_used(pytester: pytest.Pytester) -> None:
    result = _repo(pytester, rho="  power_correlation: 0.5\n").runpytest("-q")
    result.stdout.fnmatch_lines(["*assuming a candidate correlated 0.5 with it*"])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "  power: loud\n",
            "defaults.power: invalid value 'loud' (accepted: warn, fail, off)",
        ),
        ("  power_warn_below: 1.5\n", "defaults.power_warn_below: must be a number in"),
        (
            "  power_correlation: -0.1\n",
            "defaults.power_correlation: must be a number in [0, 1)",
        ),
    ],
)
def test_bad_power_settings_name_file_line_and_key(
    pytester: pytest.Pytester, line: str, message: str
) -> None:
    result = _repo(pytester, line, rho="").runpytest("-q")
    assert result.ret != 0
    output = result.stdout.str() + result.stderr.str()
    assert f"runcompare.yaml:5: {message}" in output


def test_figures_go_into_junit_and_the_json_report(pytester: pytest.Pytester) -> None:
    chance, mde, _ = _expected()
    result = _repo(pytester).runpytest(
        "-q",
        "--junitxml=junit.xml",
        "--runcompare-json=report.json",
        "--runcompare-report=report.html",
    )
    result.assert_outcomes(passed=2)
    tree = ET.parse(pytester.path / "junit.xml")
    props = {
        (case.get("name"), p.get("name")): p.get("value")
        for case in tree.iter("testcase")
        for p in case.iter("property")
    }
    assert props["exact_match", "runcompare_plan_pass_chance"] == f"{chance:.0%}"
    assert props["exact_match", "runcompare_plan_mde"] == f"{mde:.3g}"
    plan = json.loads(Path(pytester.path / "report.json").read_text())["plan"]
    assert plan["underpowered"] == ["exact_match"]
    gate = plan["gates"][0]
    assert gate["pass_chance"] == pytest.approx(chance)
    assert gate["mde"] == pytest.approx(mde)
    html = (pytester.path / "report.html").read_text()
    assert "Power, from the baseline alone" in html
    assert (
        '<tr class="fail" data-key="exact_match"><td><code>exact_match</code>' in html
    )
    assert f">{chance:.0%}</td>" in html


def test_under_xdist_the_warning_is_shown(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    result = _repo(pytester).runpytest_subprocess(
        "-q", "-n", "2", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*gate 'exact_match': an unchanged candidate*"])


def test_without_an_assumed_correlation_the_plan_measures_it_on_the_candidate(
    pytester: pytest.Pytester,
) -> None:
    """An identical candidate (correlation 1) is well powered; one whose exact_match
    is re-drawn at random (correlation about 0) is not, and the warning says why."""
    repo = _repo(pytester, rho="")
    rows = _rows(79)
    lines = [json.dumps({"run": {"name": "candidate"}})] + [json.dumps(r) for r in rows]
    (repo.path / "runs" / "candidate.jsonl").write_text("\n".join(lines) + "\n")
    quiet = repo.runpytest("-q", "-p", "no:cacheprovider")
    assert "an unchanged candidate passes only" not in quiet.stdout.str()

    rng = __import__("random").Random(7)
    rows = [
        {"id": f"q{i}", "metrics": {"exact_match": rng.random() < 0.79, "score": 0.5}}
        for i in range(200)
    ]
    lines = [json.dumps({"run": {"name": "candidate"}})] + [json.dumps(r) for r in rows]
    (repo.path / "runs" / "candidate.jsonl").write_text("\n".join(lines) + "\n")
    loud = repo.runpytest("-q", "-p", "no:cacheprovider")
    loud.stdout.fnmatch_lines(
        [
            "*gate 'exact_match': an unchanged candidate passes only *(from the "
            "baseline, with the correlation this candidate has with it*"
        ]
    )
