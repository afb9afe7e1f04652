"""Helpers for the core tests: write run files in each native shape."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

Records = Sequence[Mapping[str, Any]]


def write_jsonl(
    path: Path, records: Records, meta: Mapping[str, Any] | None = None
) -> Path:
    lines = [] if meta is None else [json.dumps({"run": dict(meta)})]
    lines += [json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_dir(
    path: Path, records: Records, meta: Mapping[str, Any] | None = None
) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "run.yaml").write_text(yaml.safe_dump(dict(meta or {})), encoding="utf-8")
    write_jsonl(path / "datapoints.jsonl", records)
    return path


def write_json_doc(
    path: Path, records: Records, meta: Mapping[str, Any] | None = None
) -> Path:
    doc = {"run": dict(meta or {}), "datapoints": list(records)}
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


def write_yaml_doc(
    path: Path, records: Records, meta: Mapping[str, Any] | None = None
) -> Path:
    doc = {"run": dict(meta or {}), "datapoints": [dict(r) for r in records]}
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


WRITERS: dict[str, tuple[str, Callable[..., Path]]] = {
    "dir": ("run", write_dir),
    "jsonl": ("run.jsonl", write_jsonl),
    "json": ("run.json", write_json_doc),
    "yaml": ("run.yaml", write_yaml_doc),
}


@pytest.fixture(params=sorted(WRITERS))
def shape(request: pytest.FixtureRequest) -> str:
    """Each native shape that carries metadata and full records."""
    return str(request.param)


@pytest.fixture
def write_run(tmp_path: Path, shape: str) -> Callable[..., Path]:
    name, writer = WRITERS[shape]

    def write(
        records: Records, meta: Mapping[str, Any] | None = None, stem: str = ""
    ) -> Path:
        target = tmp_path / (stem + name)
        return writer(target, records, meta)

    return write
