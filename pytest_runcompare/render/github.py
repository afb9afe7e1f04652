"""GitHub Actions outputs of a judgement: workflow-command annotations per gate.

The step summary is the Markdown summary (:mod:`pytest_runcompare.render.markdown`).
Run data in an annotation (gate keys, warnings) is shown escaped first
(:func:`~pytest_runcompare.untrusted.one_line`), then escaped as GitHub's toolkit
does, so it can neither end the command nor start another one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_runcompare.untrusted import MESSAGE_CHARS, NAME_CHARS, clip_words, one_line

if TYPE_CHECKING:
    from pytest_runcompare.pipeline import Judgement


def _message(text: str) -> str:
    """A workflow command's message, escaped as GitHub's toolkit does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """A workflow command's property value: ``:`` and ``,`` are escaped as well."""
    return _message(text).replace(":", "%3A").replace(",", "%2C")


def workflow_commands(
    judgement: Judgement,
    file: str = "",
    *,
    label: str | None = None,
    excused: bool = False,
) -> list[str]:
    """One ``::error`` per gate that fails the session, ``::warning`` per flagged one.

    ``file`` is the gates file relative to the workspace, where GitHub resolves it.
    ``label`` names a sweep's candidate; ``excused``: its failures do not fail the
    session (another candidate passes), so they are warnings.
    """
    from pytest_runcompare.pipeline import Status

    commands = []
    for result in judgement.blocking:
        plain = result.status is Status.PASSED and not result.verdict.warnings
        if plain and not result.reasons:
            continue
        level = "error" if result.fails_session and not excused else "warning"
        where = []
        if file:
            where.append(f"file={_property(file)}")
            if result.spec.line:
                where.append(f"line={result.spec.line}")
        key = one_line(result.key, NAME_CHARS)
        if label is not None:
            key = f"{one_line(label, NAME_CHARS)}::{key}"
        where.append(f"title={_property(f'runcompare {key}')}")
        if result.status is Status.PASSED:
            why = result.verdict.warnings[:1] or [r.text for r in result.reasons[:1]]
            first = f"{key}: {one_line(clip_words(why[0], NAME_CHARS), MESSAGE_CHARS)}"
        else:
            first = one_line(
                clip_words(result.message_lines[0], NAME_CHARS), MESSAGE_CHARS
            )
        commands.append(f"::{level} {','.join(where)}::{_message(first)}")
    return commands
