"""``load_run``: find the reader for a location through the run-reader hook.

The built-in readers are ordinary ``trylast`` implementations of
``pytest_runcompare_load_run``; a conftest or an installed plugin (entry point group
``runcompare``) can add a format or take over one. The pytest layer passes its own
hook caller in; scripts and the CLI get a plugin manager of their own.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from pytest_runcompare import hookspecs
from pytest_runcompare.errors import RunCompareError, RunFormatError, RunNotFoundError

if TYPE_CHECKING:
    from pytest_runcompare.runs import Run

#: Built-in reader modules, most specific first: the native reader is the fallback.
BUILTIN_READERS = (
    "pytest_runcompare.loaders.native",
    "pytest_runcompare.loaders.parquet",  # asked just before native: .parquet, .arrow
    "pytest_runcompare.loaders.lm_eval",
    "pytest_runcompare.loaders.lmms_eval",  # asked before lm_eval: same layout
    "pytest_runcompare.loaders.deepeval",
    "pytest_runcompare.loaders.openai_evals",
    "pytest_runcompare.loaders.inspect_ai",
    "pytest_runcompare.loaders.promptfoo",
    "pytest_runcompare.loaders.mlflow_genai",
    "pytest_runcompare.loaders.mlflow",
)

LoadHook = Callable[..., "Run | None"]


def split_location(location: str | Path) -> tuple[Path, str | None]:
    """Split ``path::selector`` into the path and the selector (``None`` if absent)."""
    text = str(location)
    path, sep, selector = text.partition("::")
    return Path(path), (selector if sep else None)


def is_uri(location: str) -> bool:
    """Whether a location names a tracking server run (``mlflow://id``, ``runs:/id``)."""
    return "://" in location or location.startswith("runs:/")


def register_builtin_readers(pm: pluggy.PluginManager) -> None:
    """Register the built-in readers so that the native one, the fallback, is tried last.

    pluggy calls implementations of equal priority last-registered first.
    """
    for name in reversed(BUILTIN_READERS):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name:
                continue  # a reader not written yet in this checkout
            raise
        if pm.get_plugin(name) is None:
            pm.register(module, name=name)


@lru_cache(maxsize=1)
def default_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager with our hookspecs, the built-in readers and installed plugins."""
    pm = pluggy.PluginManager("pytest")
    pm.add_hookspecs(hookspecs)
    register_builtin_readers(pm)
    pm.load_setuptools_entrypoints("runcompare")
    return pm


def load_run(
    location: str | Path,
    *,
    options: Mapping[str, Any] | None = None,
    hook: LoadHook | None = None,
) -> Run:
    """Load the run at ``location`` with the first reader that recognises it.

    ``location`` is a path, optionally with a ``::selector`` for files holding several
    runs. ``options`` are passed to the readers (``format`` forces one). Raises
    :class:`RunNotFoundError` when nothing is there or no reader knows the format, and
    :class:`RunFormatError` for a malformed file.
    """
    path, _ = split_location(location)
    if not is_uri(str(location)) and not path.exists():
        raise RunNotFoundError(
            f"{path}: no such file or directory",
        )
    if not is_uri(str(location)) and not path.is_dir():
        from pytest_runcompare.loaders.files import check_regular

        check_regular(path)  # a FIFO or a device would hang or never end
    caller = hook or default_plugin_manager().hook.pytest_runcompare_load_run
    try:
        run = caller(location=str(location), options=dict(options or {}))
    except RunCompareError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise RunNotFoundError(
            f"{location}: could not be read ({type(error).__name__}: {error})"
        ) from error
    except Exception as error:
        # A reader's own bug (or a conftest reader's): still the file and the cause,
        # not a traceback, with the original chained for whoever debugs it.
        raise RunFormatError(
            f"could not be read ({type(error).__name__}: {error})",
            path=path,
            hint="the reader failed on this file; please report it with the file",
        ) from error
    fmt = (options or {}).get("format")
    if run is None and fmt is not None:
        raise RunNotFoundError(
            f"{location}: no reader for format {fmt!r} (built in: "
            "native, lm_eval, lmms_eval, deepeval, openai_evals, inspect_ai, promptfoo, "
            "mlflow, mlflow_genai; others come from plugins "
            "or conftest readers) or the file is not in that format"
        )
    if run is None:
        raise RunNotFoundError(
            f"{location}: no reader recognises this run; known formats: native "
            "(directory with run.yaml + datapoints.jsonl, .jsonl, .json/.yaml with 'run' "
            "and 'datapoints', .csv; Parquet or Arrow IPC files or folders of them), "
            "lm-evaluation-harness, lmms-eval, DeepEval, "
            "OpenAI Evals, Inspect AI, promptfoo, MLflow"
        )
    return run
