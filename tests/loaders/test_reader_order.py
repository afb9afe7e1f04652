"""The native reader is the fallback: the other built-in readers are asked first."""

from __future__ import annotations

from pytest_runcompare.loaders.registry import BUILTIN_READERS, default_plugin_manager


def test_native_reader_is_asked_last() -> None:
    impls = default_plugin_manager().hook.pytest_runcompare_load_run.get_hookimpls()
    order = [i.plugin_name for i in reversed(impls)]  # pluggy's call order
    builtin = [n for n in order if n in BUILTIN_READERS]
    assert builtin[-1] == "pytest_runcompare.loaders.native"
    assert set(builtin) == set(BUILTIN_READERS)
