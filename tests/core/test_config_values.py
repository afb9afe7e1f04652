"""Every value of the gates file: wrong types, null, lists, huge, tiny, NaN, negative.

Each is a :class:`ConfigError` naming the file, the line, the key and what is accepted,
never a ``TypeError`` or ``OverflowError`` later inside the statistics.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_runcompare.config import load_gates_file
from pytest_runcompare.errors import ConfigError

AGGREGATES = (
    "(accepted: mean, median, sum, rate (share of truthy values), or a percentile "
    "pNN (p50, p90, p95, p99))"
)
MARGINS = (
    "(accepted: 0, or an absolute margin from 1e-100 to 1e+100 in metric units "
    "(0.01), or a relative one from 1e-08% to below 100% ('2%'))"
)
ALPHA = (
    "(accepted: one-sided level: 0.05 by default, 0.025 is the regulatory convention)"
)
COUNT = "(accepted: 0 to 9,007,199,254,740,992)"


def _gate(setting: str) -> str:
    return f"metrics:\n  acc:\n    margin: 0.02\n    {setting}\n"


CASES = [
    # The gate settings of one metric (line 4 holds the setting).
    (
        _gate("aggregate: 5"),
        "4: metrics.acc.aggregate: must be a name, got 5 " + AGGREGATES,
    ),
    (
        _gate("aggregate: null"),
        "4: metrics.acc.aggregate: must be a name, got None " + AGGREGATES,
    ),
    (
        _gate("aggregate: [mean]"),
        "4: metrics.acc.aggregate: must be a name, got ['mean'] " + AGGREGATES,
    ),
    (
        _gate("aggregate: p100"),
        "4: metrics.acc.aggregate: unknown aggregate 'p100' " + AGGREGATES,
    ),
    (
        "metrics:\n  acc:\n    margin: 1e-320\n",
        "3: metrics.acc.margin: margin 1e-320 is out of range " + MARGINS,
    ),
    (
        "metrics:\n  acc:\n    margin: 1e300\n",
        "3: metrics.acc.margin: margin 1e+300 is out of range " + MARGINS,
    ),
    (
        "metrics:\n  acc:\n    margin: 1e-320%\n",
        "3: metrics.acc.margin: margin '1e-320%' is out of range " + MARGINS,
    ),
    (
        "metrics:\n  acc:\n    margin: 100%\n",
        "3: metrics.acc.margin: invalid margin '100%' " + MARGINS,
    ),
    (
        "metrics:\n  acc:\n    margin: .nan\n",
        "3: metrics.acc.margin: invalid margin nan " + MARGINS,
    ),
    (
        "metrics:\n  acc:\n    margin: .inf\n",
        "3: metrics.acc.margin: invalid margin inf " + MARGINS,
    ),
    (
        "metrics:\n  acc:\n    margin: -0.1\n",
        "3: metrics.acc.margin: invalid margin -0.1 " + MARGINS,
    ),
    (
        "metrics:\n  acc:\n    margin: [0.1]\n",
        "3: metrics.acc.margin: invalid margin [0.1] " + MARGINS,
    ),
    (
        "metrics:\n  acc:\n    margin: true\n",
        "3: metrics.acc.margin: invalid margin True " + MARGINS,
    ),
    (
        _gate("alpha: 1e-320"),
        "4: metrics.acc.alpha: must be a number in [1e-10, 0.5), got 1e-320 " + ALPHA,
    ),
    (
        _gate("alpha: 0.5"),
        "4: metrics.acc.alpha: must be a number in [1e-10, 0.5), got 0.5 " + ALPHA,
    ),
    (
        _gate("alpha: .nan"),
        "4: metrics.acc.alpha: must be a number in [1e-10, 0.5), got nan " + ALPHA,
    ),
    (
        _gate("alpha: '0.05'"),
        "4: metrics.acc.alpha: must be a number in [1e-10, 0.5), got '0.05' " + ALPHA,
    ),
    (
        _gate("alpha: null"),
        "4: metrics.acc.alpha: must be a number in [1e-10, 0.5), got None " + ALPHA,
    ),
    (
        _gate("alpha: -0.05"),
        "4: metrics.acc.alpha: must be a number in [1e-10, 0.5), got -0.05 " + ALPHA,
    ),
    (
        _gate("min_coverage: 1.5"),
        "4: metrics.acc.min_coverage: must be a number in [0, 1], got 1.5 "
        "(accepted: a share of the baseline's datapoints, 0.99 by default)",
    ),
    (
        _gate("min_coverage: .nan"),
        "4: metrics.acc.min_coverage: must be a number in [0, 1], got nan "
        "(accepted: a share of the baseline's datapoints, 0.99 by default)",
    ),
    (
        _gate("max_new_failures: -1"),
        "4: metrics.acc.max_new_failures: must be a non-negative integer, got -1 "
        + COUNT,
    ),
    (
        _gate("max_new_failures: 2.5"),
        "4: metrics.acc.max_new_failures: must be a non-negative integer, got 2.5 "
        + COUNT,
    ),
    (
        _gate("max_new_failures: 1e300"),
        "4: metrics.acc.max_new_failures: must be a non-negative integer, got 1e+300 "
        + COUNT,
    ),
    (
        _gate("max_new_failures: 100000000000000000000"),
        "4: metrics.acc.max_new_failures: is too large (a 21-digit number) " + COUNT,
    ),
    (
        _gate("max_new_failures: 1" + "0" * 399),
        "4: metrics.acc.max_new_failures: is too large (a 400-digit number) " + COUNT,
    ),
    (
        "metrics:\n  acc:\n    margin: 1" + "0" * 399 + "\n",
        "3: metrics.acc.margin: margin 1" + "0" * 76 + "... is out of range " + MARGINS,
    ),
    (
        "defaults:\n  power_warn_below: 1" + "0" * 399 + "\n",
        "2: defaults.power_warn_below: must be a number in [0, 1), got 1"
        + "0" * 76
        + "...",
    ),
    (
        "defaults:\n  alpha: 1" + "0" * 399 + "\n",
        "2: defaults.alpha: must be a number in [1e-10, 0.5), got 1"
        + "0" * 76
        + "... "
        + ALPHA,
    ),
    (
        _gate("test: null"),
        "4: metrics.acc.test: must be a test name (auto, t, bootstrap-t, tango, ...), got None",
    ),
    (
        _gate("test: [t]"),
        "4: metrics.acc.test: must be a test name (auto, t, bootstrap-t, tango, ...), got ['t']",
    ),
    (
        _gate("denominator: [n]"),
        "4: metrics.acc.denominator: must be a metric, got ['n']",
    ),
    (
        _gate("mode: [equivalence]"),
        "4: metrics.acc.mode: invalid value ['equivalence'] (accepted: non_inferiority, regression_detection, equivalence)",
    ),
    (
        _gate("missing: null"),
        "4: metrics.acc.missing: invalid missing policy None; accepted: fail, worst, drop",
    ),
    (
        _gate("pairing: 5"),
        "4: metrics.acc.pairing: invalid pairing 5; accepted: paired, none",
    ),
    (
        _gate("inconclusive: true"),
        "4: metrics.acc.inconclusive: invalid inconclusive policy True; accepted: fail, pass",
    ),
    (
        _gate("correction: {holm: 1}"),
        "4: metrics.acc.correction: invalid correction {'holm': 1}; accepted: holm, bh, bonferroni, none",
    ),
    (
        _gate("direction: up"),
        "4: metrics.acc.direction: invalid value 'up' (accepted: higher, lower)",
    ),
    (_gate("gate: null"), "4: metrics.acc.gate: must be true or false, got None"),
    (
        _gate("slices: 0"),
        "4: metrics.acc.slices: must be a list of names or 'all', got 0",
    ),
    (
        _gate("slices: [[de]]"),
        "4: metrics.acc.slices: must be a list of names or 'all', got [['de']]",
    ),
    (
        _gate("steps: {retrieve: 1}"),
        "4: metrics.acc.steps: must be a list of names or 'all', got {'retrieve': 1}",
    ),
    (
        _gate("colour: red"),
        "4: metrics.acc.colour: unknown key (accepted: direction, aggregate, margin, mode, test, alpha, missing, min_coverage, inconclusive, pairing, correction, slices, steps, max_new_failures, denominator, gate)",
    ),
    # Metric names and blocks.
    (
        "metrics:\n  null:\n    margin: 0.02\n",
        "2: metrics.None: must be a metric name, got None",
    ),
    (
        "metrics:\n  true:\n    margin: 0.02\n",
        "2: metrics.True: must be a metric name, got True",
    ),
    ("metrics:\n  acc: [margin]\n", "2: metrics.acc: must be a mapping, got list"),
    ("metrics: [acc]\n", "1: metrics: must be a mapping, got list"),
    # The defaults are checked on their own, even with no metric to apply them to.
    (
        "defaults:\n  alpha: 1e-320\n",
        "2: defaults.alpha: must be a number in [1e-10, 0.5), got 1e-320 " + ALPHA,
    ),
    (
        "defaults:\n  margin: 1e300\n",
        "2: defaults.margin: margin 1e+300 is out of range " + MARGINS,
    ),
    (
        "defaults:\n  aggregate: [p95]\n",
        "2: defaults.aggregate: must be a name, got ['p95'] " + AGGREGATES,
    ),
    (
        "defaults:\n  mode: strict\n",
        "2: defaults.mode: invalid mode 'strict'; accepted: non_inferiority, regression_detection, equivalence",
    ),
    (
        "defaults:\n  power: [warn]\n",
        "2: defaults.power: invalid value ['warn'] (accepted: warn, fail, off)",
    ),
    (
        "defaults:\n  power_warn_below: .nan\n",
        "2: defaults.power_warn_below: must be a number in [0, 1), got nan",
    ),
    (
        "defaults:\n  power_correlation: -0.5\n",
        "2: defaults.power_correlation: must be a number in [0, 1), got -0.5",
    ),
    (
        "defaults:\n  compatibility: null\n",
        "2: defaults.compatibility: invalid value None (accepted: fail, warn)",
    ),
    ("defaults: [alpha]\n", "1: defaults: must be a mapping, got list"),
    # Top-level values.
    ("seed: -1\n", "1: seed: must be a non-negative integer, got -1 " + COUNT),
    ("seed: 1e300\n", "1: seed: must be a non-negative integer, got 1e+300 " + COUNT),
    (
        "seed: 123456789012345678901234567890\n",
        "1: seed: is too large (a 30-digit number) " + COUNT,
    ),
    ("seed: [0]\n", "1: seed: must be a non-negative integer, got [0] " + COUNT),
    (
        "report:\n  max_outputs: 1e300\n",
        "2: report.max_outputs: must be a non-negative integer, got 1e+300 " + COUNT,
    ),
    (
        "report:\n  max_outputs: null\n",
        "2: report.max_outputs: must be a non-negative integer, got None " + COUNT,
    ),
    (
        "report:\n  html: [a.html]\n",
        "2: report.html: must be a file path, got ['a.html']",
    ),
    ("baseline: 5\n", "1: baseline: must be a path or a mapping, got int"),
    ("baseline: ''\n", "1: baseline: must be a run path, got ''"),
    ("baseline:\n  path: null\n", "2: baseline.path: must be a run path, got None"),
    (
        "baseline:\n  path: [runs/a]\n",
        "2: baseline.path: must be a run path, got ['runs/a']",
    ),
    (
        "baseline:\n  format: promptfoo\n",
        "1: baseline: needs a 'path' (accepted: a path, or {path: ..., format: ..., <reader options>})",
    ),
    (
        "candidate:\n  path: runs/c\n  format: [promptfoo]\n",
        "3: candidate.format: must be a reader name, got ['promptfoo']",
    ),
    # Waivers.
    ("waivers: {metric: acc}\n", "1: waivers: must be a list, got dict"),
    ("waivers:\n  - 5\n", "2: waivers[0]: must be a mapping, got int"),
    (
        "waivers:\n  - metric: [acc]\n    reason: r\n",
        "2: waivers[0].metric: must be a metric name, got ['acc']",
    ),
    (
        "waivers:\n  - slice: {lang: de}\n    reason: r\n",
        "2: waivers[0].slice: must be a slice name, got {'lang': 'de'}",
    ),
    (
        "waivers:\n  - ids: q-1\n    reason: r\n",
        "2: waivers[0].ids: must be a list of datapoint ids, got 'q-1' (accepted: [q-17, q-243])",
    ),
    (
        "waivers:\n  - ids: [true]\n    reason: r\n",
        "2: waivers[0].ids: must be a list of datapoint ids, got [True] (accepted: [q-17, q-243])",
    ),
    (
        "waivers:\n  - metric: acc\n",
        "2: waivers[0].reason: a waiver needs a reason (why the change is expected)",
    ),
    (
        "waivers:\n  - metric: acc\n    reason: r\n    expires: 2026-02-30\n",
        "4: waivers[0].expires: invalid date '2026-02-30' (accepted: YYYY-MM-DD)",
    ),
    (
        "waivers:\n  - metric: acc\n    reason: r\n    expires: 20261231\n",
        "4: waivers[0].expires: invalid date 20261231 (accepted: YYYY-MM-DD)",
    ),
    (
        "colour: red\n",
        "1: colour: unknown key (accepted: baseline, candidate, candidates, sweep, defaults, metrics, waivers, report, seed)",
    ),
]


@pytest.mark.parametrize(("text", "message"), CASES)
def test_bad_gates_file_value_is_a_config_error_naming_file_line_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "runcompare.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_gates_file(path)
    assert str(raised.value) == f"{path}:{message}"


def test_bounds_themselves_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "runcompare.yaml"
    path.write_text(
        "seed: 9007199254740992\n"
        "defaults: {alpha: 1e-10}\n"
        "report: {max_outputs: 0}\n"
        "metrics:\n"
        "  tiny: {margin: 1e-100}\n"
        "  huge: {margin: 1e100, max_new_failures: 0}\n"
        "  relative: {margin: 1e-8%, alpha: 0.4999}\n"
        "  zero: {mode: regression_detection, margin: 0}\n"
        "  5: {margin: 2%}\n"
    )
    config = load_gates_file(path)
    assert config.seed == 2**53
    assert [
        (s.gate.metric, str(s.gate.margin), s.gate.alpha) for s in config.gates
    ] == [
        ("tiny", "1e-100", 1e-10),
        ("huge", "1e+100", 1e-10),
        ("relative", "1e-08%", 0.4999),
        ("zero", "0", 1e-10),
        ("5", "2%", 1e-10),
    ]


def test_error_message_never_holds_a_huge_value_whole(tmp_path: Path) -> None:
    path = tmp_path / "runcompare.yaml"
    path.write_text(
        "metrics:\n  acc:\n    margin: 0.02\n    test: [" + "t, " * 500 + "t]\n"
    )
    with pytest.raises(ConfigError, match=re.escape("got ['t', 't',")) as raised:
        load_gates_file(path)
    assert len(str(raised.value)) < 300
