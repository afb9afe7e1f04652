"""pytest-runcompare: compare a candidate evaluation run with a baseline, as CI gates.

The public API is exported lazily (PEP 562): importing the package, which pytest does
for every session through the plugin, costs nothing until a name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> module that defines it.
_EXPORTS = {
    "Run": "pytest_runcompare.runs",
    "RunMeta": "pytest_runcompare.runs",
    "Datapoints": "pytest_runcompare.runs",
    "Datapoint": "pytest_runcompare.runs",
    "MetricColumn": "pytest_runcompare.runs",
    "MetricDefinition": "pytest_runcompare.runs",
    "RunBuilder": "pytest_runcompare.building",
    "build_run": "pytest_runcompare.building",
    "load_run": "pytest_runcompare.loaders.registry",
    "from_pandas": "pytest_runcompare.frames",
    "from_polars": "pytest_runcompare.frames",
    "from_dataset": "pytest_runcompare.frames",
    "save_run": "pytest_runcompare.writer",
    "RunWriter": "pytest_runcompare.writer",
    "capture_lineage": "pytest_runcompare.lineage",
    "compare_runs": "pytest_runcompare.comparison",
    "RunComparisonResult": "pytest_runcompare.comparison",
    "MetricDelta": "pytest_runcompare.comparison",
    "PairedMetric": "pytest_runcompare.comparison",
    "ChangedOutput": "pytest_runcompare.comparison",
    "Compatibility": "pytest_runcompare.comparison",
    "LineageEntry": "pytest_runcompare.comparison",
    "hookimpl": "pytest_runcompare.hookspecs",
    "hookspec": "pytest_runcompare.hookspecs",
    "RunCompareError": "pytest_runcompare.errors",
    "RunFormatError": "pytest_runcompare.errors",
    "RunNotFoundError": "pytest_runcompare.errors",
    "ConfigError": "pytest_runcompare.errors",
    "ComparisonError": "pytest_runcompare.errors",
}

__all__ = [
    "ChangedOutput",
    "ComparisonError",
    "Compatibility",
    "ConfigError",
    "Datapoint",
    "Datapoints",
    "LineageEntry",
    "MetricColumn",
    "MetricDefinition",
    "MetricDelta",
    "PairedMetric",
    "Run",
    "RunBuilder",
    "RunCompareError",
    "RunComparisonResult",
    "RunFormatError",
    "RunMeta",
    "RunNotFoundError",
    "RunWriter",
    "__version__",
    "build_run",
    "capture_lineage",
    "compare_runs",
    "from_dataset",
    "from_pandas",
    "from_polars",
    "hookimpl",
    "hookspec",
    "load_run",
    "save_run",
]

if TYPE_CHECKING:
    from pytest_runcompare.building import RunBuilder, build_run
    from pytest_runcompare.comparison import (
        ChangedOutput,
        Compatibility,
        LineageEntry,
        MetricDelta,
        PairedMetric,
        RunComparisonResult,
        compare_runs,
    )
    from pytest_runcompare.errors import (
        ComparisonError,
        ConfigError,
        RunCompareError,
        RunFormatError,
        RunNotFoundError,
    )
    from pytest_runcompare.frames import from_dataset, from_pandas, from_polars
    from pytest_runcompare.hookspecs import hookimpl, hookspec
    from pytest_runcompare.lineage import capture_lineage
    from pytest_runcompare.loaders.registry import load_run
    from pytest_runcompare.runs import (
        Datapoint,
        Datapoints,
        MetricColumn,
        MetricDefinition,
        Run,
        RunMeta,
    )
    from pytest_runcompare.writer import RunWriter, save_run


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_runcompare' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
