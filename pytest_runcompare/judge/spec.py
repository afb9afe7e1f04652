"""What a gate asserts: :class:`Gate`, :class:`Margin` and the closed sets as Enums.

Every closed set of the gates file (mode, missing policy, pairing, inconclusive
policy, correction, the run policies) is an Enum parsed once, where a gate or the
gates file is built; nothing downstream compares option strings.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from pytest_runcompare.aggregates import check_aggregate
from pytest_runcompare.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "BUILTIN_TESTS",
    "DEFAULT_MIN_COVERAGE",
    "Correction",
    "Gate",
    "InconclusivePolicy",
    "Margin",
    "MissingPolicy",
    "Mode",
    "Pairing",
    "RunPolicy",
    "gate_rng",
    "parse_choice",
    "parse_margin",
]

DEFAULT_MIN_COVERAGE = 0.99

#: Accepted ``test:`` names (plus any custom test supplied by a hook).
BUILTIN_TESTS: tuple[str, ...] = (
    "auto",
    "t",
    "bootstrap-t",
    "wilcoxon",
    "sign",
    "permutation",
    "bootstrap-percentile",
    "bootstrap-bca",
    "tango",
    "mcnemar",
    "mcnemar-exact",
    "quantile",
    "delta",
    "ratio-bootstrap",
)


class Mode(StrEnum):
    """Which hypothesis a gate tests (docs/statistics.md §1)."""

    NON_INFERIORITY = "non_inferiority"
    REGRESSION_DETECTION = "regression_detection"
    EQUIVALENCE = "equivalence"


class MissingPolicy(StrEnum):
    """What baseline datapoints missing from the candidate count as (§7)."""

    FAIL = "fail"
    WORST = "worst"
    DROP = "drop"


class Pairing(StrEnum):
    """Whether datapoints are matched by id."""

    PAIRED = "paired"
    NONE = "none"


class InconclusivePolicy(StrEnum):
    """What an INCONCLUSIVE gate does to the build."""

    FAIL = "fail"
    PASS = "pass"


class Correction(StrEnum):
    """Multiplicity correction of the regression-detection family (§5)."""

    HOLM = "holm"
    BH = "bh"
    BONFERRONI = "bonferroni"
    NONE = "none"


class RunPolicy(StrEnum):
    """What incompatible or incomplete runs do to every gate: fail them, or warn."""

    FAIL = "fail"
    WARN = "warn"


_E = TypeVar("_E", bound=StrEnum)


def parse_choice(enum: type[_E], value: object, what: str) -> _E:
    """``value`` as a member of ``enum``, or a :class:`ConfigError` listing the choices."""
    if isinstance(value, enum):
        return value
    accepted = ", ".join(m.value for m in enum)
    if not isinstance(value, str):
        raise ConfigError(f"invalid {what} {value!r}; accepted: {accepted}")
    try:
        return enum(value)
    except ValueError:
        raise ConfigError(f"invalid {what} {value!r}; accepted: {accepted}") from None


_MARGIN = re.compile(r"^\s*([+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(%?)\s*$")
_MARGIN_SYNTAX = (
    "a non-negative number in metric units (0.01), or a percentage of the "
    "baseline for a relative margin ('2%')"
)


@dataclass(frozen=True, slots=True)
class Margin:
    """A non-inferiority margin: absolute (metric units) or relative to the baseline.

    ``Margin(0.01)`` allows the candidate to be 0.01 worse; ``Margin(0.02,
    relative=True)`` allows it to be 2% worse than the baseline, tested exactly
    through the paired linear combination ``cand − (1 − r)·base``
    (lower-is-better: ``(1 + r)·base − cand``), never by multiplying the observed
    baseline mean (docs/statistics.md §2).
    """

    value: float
    relative: bool = False

    def __post_init__(self) -> None:
        value: object = self.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"margin must be a number, got {value!r}")
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"margin must be finite and non-negative, got {value!r}")
        if self.relative and value >= 1:
            raise ConfigError(
                f"a relative margin must be below 100%, got {value * 100:g}%"
            )
        object.__setattr__(self, "value", float(value))

    def __str__(self) -> str:
        return f"{self.value * 100:g}%" if self.relative else f"{self.value:g}"


def parse_margin(value: object) -> Margin:
    """Parse a margin from configuration: ``0.01``, ``"0.01"``, ``"2%"``.

    Raises
    ------
    ConfigError
        For anything else, with the accepted syntax in the message.

    """
    if isinstance(value, Margin):
        return value
    if isinstance(value, bool):
        raise ConfigError(f"invalid margin {value!r}; expected {_MARGIN_SYNTAX}")
    if isinstance(value, int | float):
        return Margin(float(value))
    if isinstance(value, str):
        match = _MARGIN.match(value)
        if match is not None:
            number = float(match.group(1))
            if match.group(2):
                return Margin(number / 100, relative=True)
            return Margin(number)
    raise ConfigError(f"invalid margin {value!r}; expected {_MARGIN_SYNTAX}")


@dataclass(frozen=True, slots=True)
class Gate:
    """One assertion about one metric.

    Parameters
    ----------
    metric : str
        Metric name in the runs.
    slice, step : str, optional
        Restrict to a slice (e.g. ``"lang:de"``) or a trace step.
    higher_is_better : bool, optional
        Direction; None takes it from the comparison.
    aggregate : str
        ``mean`` (default), ``sum``, ``median``, ``pNN`` (``p95``…), or ``rate``
        (share of truthy values; with ``denominator``: ratio of sums
        ``Σmetric / Σdenominator``).
    margin : Margin, float or str, optional
        Required (> 0) in ``non_inferiority`` and ``equivalence`` modes;
        defaults to 0 in ``regression_detection``. Parsed by :func:`parse_margin`.
    mode : Mode or str
        ``non_inferiority`` (default), ``regression_detection``, ``equivalence``.
    test : str
        ``auto`` or one of :data:`BUILTIN_TESTS` (or a custom test name).
    alpha : float
        One-sided level; the interval shown is two-sided at ``1 − 2α``.
    missing : MissingPolicy or str
        What happens to baseline datapoints missing from the candidate once
        coverage is at least ``min_coverage``: ``fail`` (default: they count as
        failures for binary metrics and are dropped otherwise), ``worst``
        (binary: count as failures; continuous: the worst value seen in either
        run) or ``drop``.
    min_coverage : float
        Minimum share of the baseline's datapoints paired in the candidate;
        below it the gate fails closed under every ``missing`` policy.
    inconclusive : InconclusivePolicy or str, optional
        ``fail`` or ``pass``; None: fail in non-inferiority and equivalence,
        pass with a warning in regression detection.
    pairing : Pairing or str
        ``paired`` or ``none`` (unpaired Welch/score tests, loudly warned). Runs
        that share no datapoint ids are compared unpaired (loudly warned) when
        ``min_coverage`` is 0; otherwise their 0% coverage fails the gate closed.
    correction : Correction or str
        Multiplicity correction of the regression-detection family
        (``holm``, ``bh``, ``bonferroni``, ``none``).
    declared : bool
        False for warn-only gates (e.g. automatic slice gates).
    max_new_failures : int, optional
        Binary metrics: at most this many datapoints right in the baseline may
        be wrong in the candidate. Alone (no margin) it is a pure count gate.
    denominator : str, optional
        Denominator metric for a ratio-of-sums ``rate``.

    """

    metric: str
    slice: str | None = None
    step: str | None = None
    higher_is_better: bool | None = None
    aggregate: str = "mean"
    margin: Margin | None = None
    mode: Mode = Mode.NON_INFERIORITY
    test: str = "auto"
    alpha: float = 0.05
    missing: MissingPolicy = MissingPolicy.FAIL
    min_coverage: float = DEFAULT_MIN_COVERAGE
    inconclusive: InconclusivePolicy | None = None
    pairing: Pairing = Pairing.PAIRED
    correction: Correction = Correction.HOLM
    declared: bool = True
    max_new_failures: int | None = None
    denominator: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise ConfigError(f"a gate needs a metric name, got {self.metric!r}")
        if self.margin is not None and not isinstance(self.margin, Margin):
            object.__setattr__(self, "margin", parse_margin(self.margin))
        _set = object.__setattr__
        _set(self, "mode", parse_choice(Mode, self.mode, "mode"))
        _set(self, "test", str(self.test).lower().replace("_", "-"))
        try:
            check_aggregate(self.aggregate)
        except ConfigError as exc:
            raise ConfigError(f"gate {self.key!r}: {exc}") from None
        if self.denominator is not None and self.aggregate != "rate":
            raise ConfigError(
                f"gate {self.key!r}: `denominator` needs `aggregate: rate`"
            )
        alpha: object = self.alpha
        if isinstance(alpha, bool) or not isinstance(alpha, int | float):
            raise ConfigError(f"gate {self.key!r}: alpha must be a number")
        if not 0 < alpha < 0.5:
            raise ConfigError(
                f"gate {self.key!r}: alpha must be in (0, 0.5), got {alpha!r} "
                "(one-sided; 0.05 by default, 0.025 is the regulatory convention)"
            )
        _set(
            self, "missing", parse_choice(MissingPolicy, self.missing, "missing policy")
        )
        _set(self, "pairing", parse_choice(Pairing, self.pairing, "pairing"))
        _set(
            self, "correction", parse_choice(Correction, self.correction, "correction")
        )
        if self.inconclusive is not None:
            _set(
                self,
                "inconclusive",
                parse_choice(
                    InconclusivePolicy, self.inconclusive, "inconclusive policy"
                ),
            )
        cov: object = self.min_coverage
        if (
            isinstance(cov, bool)
            or not isinstance(cov, int | float)
            or not 0 <= cov <= 1
        ):
            raise ConfigError(
                f"gate {self.key!r}: min_coverage must be in [0, 1], got {cov!r}"
            )
        k: object = self.max_new_failures
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 0):
            raise ConfigError(
                f"gate {self.key!r}: max_new_failures must be a non-negative "
                f"integer, got {k!r}"
            )
        # A margin of 0 (or none) in non-inferiority or equivalence mode is refused
        # when the gate is measured, where the message can give the minimum
        # detectable effect at the current n (judge/evaluate.py, §1).

    @property
    def key(self) -> str:
        """Stable name: ``metric``, ``p95(metric)``, ``metric[slice]``, ``[step=s]``."""
        name = (
            self.metric
            if self.aggregate == "mean"
            else f"{self.aggregate}({self.metric})"
        )
        if self.denominator is not None:
            name = f"rate({self.metric}/{self.denominator})"
        if self.slice is not None:
            name += f"[{self.slice}]"
        if self.step is not None:
            name += f"[step={self.step}]"
        return name

    @property
    def inconclusive_policy(self) -> InconclusivePolicy:
        """The policy in force: the declared one, else fail (pass in regression detection)."""
        if self.inconclusive is not None:
            return self.inconclusive
        if self.mode is Mode.REGRESSION_DETECTION:
            return InconclusivePolicy.PASS
        return InconclusivePolicy.FAIL

    def to_dict(self) -> dict[str, Any]:
        """Plain values for the JSON report."""
        return {
            "metric": self.metric,
            "slice": self.slice,
            "step": self.step,
            "higher_is_better": self.higher_is_better,
            "aggregate": self.aggregate,
            "margin": None if self.margin is None else str(self.margin),
            "mode": str(self.mode),
            "test": self.test,
            "alpha": self.alpha,
            "missing": str(self.missing),
            "min_coverage": self.min_coverage,
            "inconclusive": None
            if self.inconclusive is None
            else str(self.inconclusive),
            "pairing": str(self.pairing),
            "correction": str(self.correction),
            "declared": self.declared,
            "max_new_failures": self.max_new_failures,
            "denominator": self.denominator,
        }


def gate_rng(key: str, seed: int = 0) -> np.random.Generator:
    """The gate's generator: ``SeedSequence(seed, spawn_key=(crc32(key),))``.

    Independent of Python's ``hash()`` and of the order of the gates, so adding a
    gate does not change another gate's resamples (docs/statistics.md §8).
    """
    import numpy as np

    ss = np.random.SeedSequence(seed, spawn_key=(zlib.crc32(key.encode("utf-8")),))
    return np.random.default_rng(ss)
