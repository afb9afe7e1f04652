"""Never green without judging: why a session that asked for runcompare judged nothing.

A session fails when runcompare was asked for and nothing was judged (no gate ran,
no fixture compared runs): missing data is never a pass. :func:`unjudged` says what
was configured and what did not happen, or returns None when the session may end
as pytest says. The rules are listed in the README ("When runcompare fails the
session").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_runcompare.settings import DEFAULT_GATES_FILE

if TYPE_CHECKING:
    from pytest_runcompare.session import RunCompareSession

#: a ``pytest.Config`` (this module stays free of pytest imports: the rules are plain)
Config = Any


def _why(state: RunCompareSession, config: Config) -> str:
    """What did not happen: no gates file, no gate in it, not collected, deselected."""
    from pytest_runcompare.pipeline import no_gate_declared

    settings = state.settings
    gates = settings.gates
    if gates.path is None:
        where = ", ".join(str(d) for d in settings.searched)
        return (
            f"no gates file was found (looked for {DEFAULT_GATES_FILE} in {where}; "
            "pass --runcompare-config FILE) and no test used the runcompare fixtures"
        )
    empty = no_gate_declared(gates)
    if empty is not None:
        return f"{empty}; and no test used the runcompare fixtures"
    if state.is_controller:
        return "no worker ran a gate of the gates file"
    if state.gates_collected is None:
        args = " ".join(config.args) or "(none)"
        return (
            f"the gates file {gates.path} was not collected (pytest's arguments "
            f"{args} do not include it: add it to them)"
        )
    if state.gates_deselected:
        return (
            f"all {state.gates_deselected} gate(s) of {gates.path} were deselected "
            "(-k, -m, --lf or node ids)"
        )
    return f"no gate of {gates.path} ran"


def _runs_nothing(config: Config) -> bool:
    """A session that only collects or plans (--collect-only, --setup-plan)."""
    option = config.option
    return bool(getattr(option, "collectonly", False)) or bool(
        getattr(option, "setupplan", False)
    )


def unjudged(state: RunCompareSession, config: Config) -> str | None:
    """Why this session must fail although pytest's tests passed, or None.

    It fails when nothing was judged and any of: a ``--runcompare-*`` option was
    given; the session's gates file declares no gate; a test recorded datapoints
    (and no baseline is being created from them); or runcompare is configured by
    ini keys or a gates file and the session ran pytest's default selection
    without deselecting a gate.
    """
    if state.is_worker or state.judged_anything() or _runs_nothing(config):
        return None
    settings = state.settings
    recorded = 0 if state.recorder is None else len(state.recorder)
    why = _why(state, config)
    if settings.asked:
        return (
            f"runcompare: {', '.join(settings.asked)} given, but nothing was judged: "
            f"{why}"
        )
    if recorded and not settings.update_baseline:
        return (
            f"runcompare: the runcompare_recorder fixture recorded {recorded} "
            f"datapoint(s), but nothing judged them: {why}"
        )
    from pytest_runcompare.pipeline import no_gate_declared

    if state.gates_collected is not None and no_gate_declared(settings.gates):
        return f"runcompare: nothing was judged: {why}"
    default_selection = config.args_source is not config.ArgsSource.ARGS
    configured = settings.ini_keys or settings.gates.path is not None
    if configured and default_selection and not state.gates_deselected:
        what = ", ".join([*settings.ini_keys] or [str(settings.gates.path)])
        return f"runcompare: configured ({what}), but nothing was judged: {why}"
    return None
