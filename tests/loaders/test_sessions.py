"""Full plugin sessions (pytester) gating one real pair per tool."""

from __future__ import annotations

from pathlib import Path

import pytest

QWEN = "lm-eval_negotiationtom_qwen3-8b_rerun"
RUN = Path(__file__).parent / "data" / "mlruns" / "271828" / "0a1b2c3d4e5f"
TABLE = RUN / "artifacts" / "eval_results_table.json"


def _session(pytester: pytest.Pytester, gates: str) -> pytest.RunResult:
    (pytester.path / "runcompare.yaml").write_text(gates, encoding="utf-8")
    return pytester.runpytest(
        "-q", "-p", "no:cacheprovider", "--runcompare-report", "report.html"
    )


def test_lm_eval_qwen_rerun(pytester: pytest.Pytester, real: Path) -> None:
    result = _session(
        pytester,
        f"""\
baseline: {real / QWEN / "run_17-52-34.622576"}
candidate: {real / QWEN / "run_18-15-33.115417"}
metrics:
  acc: {{margin: 0.25}}
  exact_match: {{margin: 0.25}}
""",
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*acc*0.525*0.525* pass"])
    report = (pytester.path / "report.html").read_text("utf-8")
    assert "Answer: A, C, F, G" in report  # the one generated answer that changed


def test_inspect_two_models(pytester: pytest.Pytester, real: Path) -> None:
    result = _session(
        pytester,
        f"""\
baseline: {real / "inspect_ai" / "log_formats.eval"}
candidate: {real / "inspect_ai" / "log_read_sample.eval"}
metrics:
  match: {{margin: 0.5}}
""",
    )
    result.stdout.fnmatch_lines(["*match*"])
    assert "Traceback" not in result.stdout.str()
    assert "No" in (pytester.path / "report.html").read_text("utf-8")


def test_promptfoo_prompt_change(pytester: pytest.Pytester, real: Path) -> None:
    results = real / "promptfoo_nicheIQ" / "results.json"
    result = _session(
        pytester,
        f"""\
baseline: {results}::provider=openai:gpt-4o,prompt=pain_v1
candidate: {{path: {results}, format: promptfoo, provider: openai:gpt-4o, prompt: pain_v2}}
metrics:
  score: {{margin: 0.5}}
""",
    )
    result.stdout.fnmatch_lines(["*score*"])
    assert "Traceback" not in result.stdout.str()
    report = (pytester.path / "report.html").read_text("utf-8")
    assert "[pain] HIGH" in report


def test_promptfoo_without_selector_lists_the_columns(
    pytester: pytest.Pytester, real: Path
) -> None:
    results = real / "promptfoo_nicheIQ" / "results.json"
    result = _session(
        pytester,
        f"baseline: {results}::column=4\ncandidate: {results}::provider=openai:gpt-4o\n"
        "metrics:\n  score: {margin: 0.5}\n",
    )
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*matches 4 columns*column=5*"])


def test_mlflow_run_folder_against_its_table(pytester: pytest.Pytester) -> None:
    result = _session(
        pytester,
        f"""\
baseline: {{path: {RUN}, id_column: inputs}}
candidate: {{path: {TABLE}, id_column: inputs}}
metrics:
  exact_match: {{margin: 0.6}}
""",
    )
    result.assert_outcomes(passed=1)
