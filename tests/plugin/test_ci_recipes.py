"""The CI recipes of examples/ci (shown whole in the README) parse and do what they say.

Their pytest command runs for real on the bundled example; their comment scripts run
under bash with stand-ins for ``gh`` and ``curl`` that record what they were asked
and answer like the GitHub and GitLab APIs.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("sklearn")

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "examples" / "ci"
GITHUB = CI / "github-actions.yml"
GITLAB = CI / "gitlab-ci.yml"
REPORT_DIR = "runcompare-report"
SUMMARY = f"{REPORT_DIR}/summary.md"

#: the flags of the gh commands the workflow may use (gh manual: gh api, gh pr comment)
GH_FLAGS = {
    ("api",): {"--method", "-X", "--field", "-F", "--paginate", "--jq", "-q"},
    ("pr", "comment"): {"--body-file", "-F", "--body", "-b"},
}


def _load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _github_steps() -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = _load(GITHUB)["jobs"]["gates"]["steps"]
    return steps


def _gitlab_job() -> dict[str, Any]:
    job: dict[str, Any] = _load(GITLAB)["runcompare"]
    return job


def _pytest_commands() -> dict[str, list[str]]:
    """The pytest command of each recipe, as argv."""
    github = [s["run"] for s in _github_steps() if s.get("name") == "Gates"]
    gitlab = [c for c in _gitlab_job()["script"] if c.startswith("pytest")]
    assert len(github) == 1
    assert len(gitlab) == 1
    return {"github": shlex.split(github[0]), "gitlab": shlex.split(gitlab[0])}


def _comment_scripts() -> dict[str, str]:
    github = [
        s["run"]
        for s in _github_steps()
        if s.get("name") == "Post or update the PR comment"
    ]
    assert len(github) == 1
    (gitlab,) = _gitlab_job()["after_script"]
    return {"github": github[0], "gitlab": gitlab}


def test_the_readme_shows_each_recipe_whole() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in (GITHUB, GITLAB):
        assert f"```yaml\n{path.read_text(encoding='utf-8')}```\n" in readme, path.name


def test_the_github_workflow_runs_on_pull_requests_and_fails_on_the_gates() -> None:
    data = _load(GITHUB)
    # PyYAML reads the key `on` as the YAML 1.1 boolean True; GitHub reads "on".
    assert data[True] == {"pull_request": None}
    assert data["permissions"]["pull-requests"] == "write"
    steps = _github_steps()
    gates = next(s for s in steps if s.get("name") == "Gates")
    # The gates step has no continue-on-error: a failing gate fails the job.
    assert "continue-on-error" not in gates
    upload = next(s for s in steps if s.get("name") == "Upload the HTML report")
    assert upload["uses"] == "actions/upload-artifact@v4"
    assert upload["with"]["path"] == f"{REPORT_DIR}/"
    assert upload["if"] == "${{ !cancelled() }}"
    comment = next(s for s in steps if s.get("name") == "Post or update the PR comment")
    assert comment["if"].startswith("${{ !cancelled() && ")
    assert comment["env"]["GH_TOKEN"] == "${{ github.token }}"


def test_the_gitlab_job_keeps_the_report_and_the_junit_xml_whatever_the_gates_say() -> (
    None
):
    job = _gitlab_job()
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["paths"] == [f"{REPORT_DIR}/"]
    junit = job["artifacts"]["reports"]["junit"]
    assert f"--junit-xml={junit}" in _pytest_commands()["gitlab"]


def test_the_recipes_pytest_options_are_the_plugins(pytester: pytest.Pytester) -> None:
    help_text = pytester.runpytest("--help").stdout.str()
    for name, argv in _pytest_commands().items():
        assert argv[0] == "pytest"
        options = [a.split("=", 1)[0] for a in argv[1:]]
        assert all(o.startswith("--") for o in options), (name, argv)
        for option in options:
            assert re.search(rf"(^|[ ,]){re.escape(option)}=", help_text, re.M), (
                name,
                option,
            )


@pytest.mark.parametrize("candidate", ["runs/candidate", "runs/candidate_regressed"])
@pytest.mark.parametrize("recipe", ["github", "gitlab"])
def test_the_recipes_pytest_command_writes_what_the_later_steps_read(
    pytester: pytest.Pytester, recipe: str, candidate: str
) -> None:
    """On the bundled example: passes on the candidate, fails on the regression."""
    pytester.copy_example("sklearn_classifier")
    argv = [
        f"--runcompare-candidate={candidate}"
        if a == "--runcompare-candidate=runs/candidate"
        else a
        for a in _pytest_commands()[recipe][1:]
    ]
    result = pytester.runpytest(*argv, "-p", "no:cacheprovider")
    regressed = candidate.endswith("regressed")
    assert result.ret == (
        pytest.ExitCode.TESTS_FAILED if regressed else pytest.ExitCode.OK
    )
    out = pytester.path / REPORT_DIR
    assert sorted(p.name for p in out.iterdir()) == [
        "junit.xml",
        "report.html",
        "summary.md",
    ]
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("<!-- runcompare:")
    assert summary.splitlines()[0].endswith(" -->")
    failures = ET.parse(out / "junit.xml").getroot().iter("failure")
    assert len(list(failures)) == (5 if regressed else 0)


FAKE_GH = r"""#!/bin/bash
{ printf '%q ' gh "$@"; echo; } >> "$CALLS"
if [ "$1" = api ] && [ "$2" != --method ]; then
  while [ $# -gt 0 ]; do
    if [ "$1" = --jq ]; then jq -r "$2" < "$EXISTING"; exit; fi
    shift
  done
fi
"""

FAKE_CURL = r"""#!/bin/bash
{ printf '%q ' curl "$@"; echo; } >> "$CALLS"
case " $* " in
  *" --request "*) ;;
  *) cat "$EXISTING" ;;
esac
"""


def _run_comment_script(
    tmp_path: Path, recipe: str, existing: list[dict[str, Any]]
) -> list[list[str]]:
    """Run a recipe's comment script in ``tmp_path``; returns the calls it made."""
    marker = "<!-- runcompare:runcompare.yaml -->"
    (tmp_path / REPORT_DIR).mkdir(exist_ok=True)
    (tmp_path / REPORT_DIR / "summary.md").write_text(f"{marker}\nbody\n", "utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in (("gh", FAKE_GH), ("curl", FAKE_CURL)):
        (bin_dir / name).write_text(text, "utf-8")
        (bin_dir / name).chmod(0o755)
    (tmp_path / "existing.json").write_text(json.dumps(existing), "utf-8")
    calls = tmp_path / "calls.txt"
    calls.write_text("", "utf-8")
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "CALLS": str(calls),
        "EXISTING": str(tmp_path / "existing.json"),
        "GITHUB_REPOSITORY": "octo/model",
        "PR": "7",
        "CI_API_V4_URL": "https://gitlab.example/api/v4",
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": "7",
        "RUNCOMPARE_NOTE_TOKEN": "token",
    }
    done = subprocess.run(
        ["bash", "-e", "-c", _comment_scripts()[recipe]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [shlex.split(line) for line in calls.read_text("utf-8").splitlines()]


@pytest.fixture
def needs_jq() -> None:
    if shutil.which("jq") is None:
        pytest.fail("the gh stand-in applies --jq with jq: apt-get install jq")


OTHERS = [
    {"id": 11, "body": "looks good"},
    {"id": 12, "body": "<!-- runcompare:other/runcompare.yaml -->\nanother gates file"},
]


@pytest.mark.usefixtures("needs_jq")
def test_the_github_step_comments_once_then_updates_its_own_comment(
    tmp_path: Path,
) -> None:
    first = _run_comment_script(tmp_path, "github", OTHERS)
    assert first[-1] == ["gh", "pr", "comment", "7", "--body-file", SUMMARY]
    mine = {"id": 13, "body": "<!-- runcompare:runcompare.yaml -->\nold"}
    again = _run_comment_script(tmp_path, "github", [*OTHERS, mine])
    assert again[-1] == [
        "gh",
        "api",
        "--method",
        "PATCH",
        "repos/octo/model/issues/comments/13",
        "-F",
        f"body=@{SUMMARY}",
    ]
    for words in first + again:
        sub = ("pr", "comment") if words[1:3] == ["pr", "comment"] else (words[1],)
        assert sub in GH_FLAGS, words
        flags = {w for w in words if w.startswith("-")}
        assert flags <= GH_FLAGS[sub], (words, flags - GH_FLAGS[sub])


def test_the_gitlab_step_notes_once_then_updates_its_own_note(tmp_path: Path) -> None:
    api = "https://gitlab.example/api/v4/projects/42/merge_requests/7/notes"
    first = _run_comment_script(tmp_path, "gitlab", OTHERS)
    assert first[0][-1] == f"{api}?per_page=100"
    assert first[-1][-3:] == ["--data-urlencode", f"body@{SUMMARY}", api]
    assert first[-1][first[-1].index("--request") + 1] == "POST"
    mine = {"id": 13, "body": "<!-- runcompare:runcompare.yaml -->\nold"}
    again = _run_comment_script(tmp_path, "gitlab", [*OTHERS, mine])
    assert again[-1][-1] == f"{api}/13"
    assert again[-1][again[-1].index("--request") + 1] == "PUT"
    for words in first + again:
        assert words[words.index("--header") + 1] == "PRIVATE-TOKEN: token"
    _check_curl_options(first + again)


def _check_curl_options(calls: list[list[str]]) -> None:
    """Every long option of these curl calls is one this machine's curl lists."""
    if shutil.which("curl") is None:
        pytest.fail("needs curl to check the GitLab recipe's options")
    known = subprocess.run(
        ["curl", "--help", "all"], capture_output=True, text=True, check=True
    ).stdout.split()
    for words in calls:
        for flag in (w for w in words if w.startswith("--")):
            assert flag in known, flag
