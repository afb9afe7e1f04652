"""Hook specifications of pytest-runcompare: how other packages and conftests extend it.

The marker's project name is ``pytest`` so that the same implementations work in a
pytest session (added through ``pytest_addhooks``) and in the ``runcompare`` command,
which builds its own plugin manager from the same specs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pytest_runcompare.runs import Run

hookspec = pluggy.HookspecMarker("pytest")
hookimpl = pluggy.HookimplMarker("pytest")


@hookspec(firstresult=True)
def pytest_runcompare_load_run(location: str, options: Mapping[str, Any]) -> Run | None:
    r"""Read the run at ``location``, or return ``None`` if it is not in your format.

    Called whenever a baseline or candidate is loaded, with the location exactly as the
    user gave it (a path, possibly followed by ``::selector`` such as
    ``results.json::provider=openai:gpt-4o``) and the reader options from the gates
    file (``format`` names a reader explicitly). The first non-``None`` result wins;
    the built-in readers run last, so a conftest or plugin can take over any path.
    Raise :class:`pytest_runcompare.errors.RunFormatError` for a file that is yours
    but malformed. Build the run with :func:`pytest_runcompare.build_run`.

    Example, in a ``conftest.py``::

        from pytest_runcompare import build_run, hookimpl

        @hookimpl
        def pytest_runcompare_load_run(location, options):
            if not location.endswith(".tsv"):
                return None
            rows = [line.split("\\t") for line in open(location)]
            records = [{"id": r[0], "output": r[1], "metrics": {"acc": float(r[2])}}
                       for r in rows]
            return build_run(records, {"name": "tsv run"}, path=location)
    """


@hookspec(firstresult=True)
def pytest_runcompare_list_runs(
    location: str, options: Mapping[str, Any]
) -> list[tuple[str, str]] | None:
    """List the runs a location holds, or return ``None`` if it holds one run or is not yours.

    Called when a sweep expands its candidates (the gates file's ``candidates:`` or
    the command line) for every entry that is not a glob, with the location as given
    (a resolved path, possibly with ``::selector``, or a URI such as
    ``mlflow://experiment/<name>``) and the entry's reader options. Return one
    ``(label, location)`` pair per run, in a stable order, where each location is one
    that ``pytest_runcompare_load_run`` reads as a single run (for example
    ``results.json::column=3``); an empty list says the location holds no run. The
    first non-``None`` result wins; the built-in readers run last. Raise
    :class:`pytest_runcompare.errors.RunFormatError` for a file that is yours but
    malformed.

    Example, in a ``conftest.py``::

        @hookimpl
        def pytest_runcompare_list_runs(location, options):
            if not location.endswith(".runs.txt"):
                return None
            names = open(location).read().split()
            return [(name, f"runs/{name}") for name in names]
    """


@hookspec
def pytest_runcompare_register_tests() -> Mapping[str, Any] | None:
    """Return extra statistical tests, a mapping of test name to function.

    Called once per session before the gates are judged; the names become valid values
    of ``test:`` in the gates file. A test function is called as
    ``fn(paired, gate, *, rng)`` with a :class:`~pytest_runcompare.comparison.PairedMetric`,
    the :class:`~pytest_runcompare.judge.Gate` and a seeded ``numpy.random.Generator``,
    and returns a :class:`~pytest_runcompare.stats.result.TestResult`.

    Example::

        @hookimpl
        def pytest_runcompare_register_tests():
            return {"my_test": my_test}
    """
