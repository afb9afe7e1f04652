"""GitHub annotations each start on their own line (else GitHub drops them)."""

from __future__ import annotations

import pytest
from helpers import make_records, make_repo

REGRESSED = {("score", "lang:de"): -0.2}


@pytest.mark.parametrize(
    "mode", [("-q",), ("-n", "2"), ("-q", "-n", "2"), ()], ids=" ".join
)
def test_every_annotation_starts_its_own_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, mode: tuple[str, ...]
) -> None:
    make_repo(
        pytester,
        make_records(),
        make_records(shift=REGRESSED),
        tests="def test_ok():\n    pass\n",
    )
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *mode)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    text = result.stdout.str()
    with_error = [line for line in text.splitlines() if "::error" in line]
    assert len(with_error) == 2, text
    for line in with_error:
        assert line.startswith("::error file=runcompare.yaml,line="), repr(line)
