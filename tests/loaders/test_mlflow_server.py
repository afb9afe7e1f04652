"""MLflow through a real tracking server: ``mlflow server`` with a sqlite backend.

Two runs are logged with ``mlflow.evaluate`` over HTTP, then a pytest session gates
one against the other by ``mlflow://<run id>``. Skipped when the ``mlflow`` extra is
not installed (CI installs it).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_mlflow_reader import _evaluate

pytest.importorskip("mlflow", reason="the mlflow extra is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--default-artifact-root",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(root / "server.log").open("w"),
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log = (root / "server.log").read_text()[-2000:]
                pytest.fail(f"mlflow server did not start:\n{log}")
            time.sleep(0.5)
        yield uri
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a loaded machine: stop it for good
            server.kill()
            server.wait(timeout=30)


@pytest.fixture
def two_runs(tracking_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import mlflow

    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(tracking_server)
    mlflow.set_experiment("qa-server")
    try:
        base = _evaluate(mlflow, "v1", ["4", "Lyon", "Blue"], 0.5)
        cand = _evaluate(mlflow, "v2", ["4", "Paris", "Blue"], 0.4)
    finally:
        mlflow.set_tracking_uri(None)
    return tracking_server, base, cand


def test_read_through_the_server(two_runs) -> None:
    from pytest_runcompare import compare_runs, load_run

    uri, base_id, cand_id = two_runs
    base = load_run(f"mlflow://{base_id}", options={"tracking_uri": uri})
    cand = load_run(f"runs:/{cand_id}", options={"tracking_uri": uri})
    assert base.meta.name == "v1"
    assert base.meta.params == {"prompt": "v1"}
    assert base.meta.metrics["loss"] == 0.5
    assert len(base) == 3
    result = compare_runs(base, cand)
    assert result.n_common == 3
    assert [c.new_output for c in result.changed_outputs()] == ["Paris"]
    assert result.metric_deltas["exact"].improved_ids == (
        result.changed_outputs()[0].id,
    )


def test_session_gates_server_runs(two_runs, pytester: pytest.Pytester) -> None:
    uri, base_id, cand_id = two_runs
    (pytester.path / "runcompare.yaml").write_text(
        f"baseline: {{path: 'mlflow://{base_id}', tracking_uri: '{uri}'}}\n"
        f"candidate: {{path: 'mlflow://{cand_id}', tracking_uri: '{uri}'}}\n"
        "defaults:\n  mode: regression_detection\n  min_coverage: 1.0\n"
        "metrics:\n  exact: {}\n"
        "report:\n  html: report.html\n"
    )
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["exact *0.67*1.00*inconclusive (passes)"])
    assert "Paris" in (pytester.path / "report.html").read_text()
