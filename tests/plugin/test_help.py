"""``pytest --help`` documents every option of the runcompare group."""

import pytest

OPTIONS = [
    "--runcompare-baseline=PATH",
    "--runcompare-candidate=PATH",
    "--runcompare-config=FILE",
    "--runcompare-report=PATH",
    "--runcompare-report-url=URL",
    "--runcompare-markdown=PATH",
    "--runcompare-json=PATH",
    "--runcompare-seed=N",
    "--runcompare-alpha=A",
    "--runcompare-require=all|any",
    "--runcompare-record=PATH",
    "--runcompare-update-baseline",
    "--runcompare-accept-failed",
    "--runcompare-reason=TEXT",
    "--runcompare-mlflow-log",
    "--runcompare-engine=duckdb|spark",
]


def test_help_lists_every_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*compare model evaluation runs (pytest-runcompare)*"])
    lines = [line.strip() for line in result.stdout.lines if "--runcompare-" in line]
    for option in OPTIONS:
        assert any(line.startswith(option) for line in lines), option
    documented = {line.split()[0] for line in lines if line.startswith("--runcompare-")}
    assert documented == set(OPTIONS)


def test_ini_keys_are_listed(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    for key in (
        "runcompare_baseline",
        "runcompare_candidate",
        "runcompare_config",
        "runcompare_seed",
    ):
        result.stdout.fnmatch_lines([f"*{key} *"])


def test_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("-p", "no:runcompare", "--help")
    assert "--runcompare-baseline" not in result.stdout.str()
