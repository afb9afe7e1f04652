"""Capture where a run came from: git commit and dirty flag, Python, platform, packages.

Only ``importlib.metadata`` is used for package versions, so capturing lineage never
imports the (possibly heavy) packages it reports on.
"""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

#: Packages whose versions commonly change model behaviour; recorded when installed.
KEY_PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "scikit-learn",
    "torch",
    "jax",
    "tensorflow",
    "transformers",
    "vllm",
    "openai",
    "anthropic",
    "lm_eval",
    "inspect_ai",
    "pytest-runcompare",
)


def _git(args: Sequence[str], cwd: Path | None) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def code_version(cwd: str | Path | None = None) -> dict[str, Any]:
    """Git commit and dirty flag of the working tree at ``cwd`` (empty outside git)."""
    where = None if cwd is None else Path(cwd)
    commit = _git(["rev-parse", "HEAD"], where)
    if commit is None:
        return {}
    status = _git(["status", "--porcelain", "--untracked-files=no"], where)
    out: dict[str, Any] = {"commit": commit, "dirty": bool(status)}
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], where)
    if branch and branch != "HEAD":
        out["branch"] = branch
    return out


def package_versions(extra: Sequence[str] = ()) -> dict[str, str]:
    """Installed versions of :data:`KEY_PACKAGES` and ``extra``, sorted by name."""
    found: dict[str, str] = {}
    for name in (*KEY_PACKAGES, *extra):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return dict(sorted(found.items()))


def environment(packages: Sequence[str] = ()) -> dict[str, Any]:
    """Python version and implementation, platform, and key package versions."""
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "packages": package_versions(packages),
    }


def capture_lineage(
    *, cwd: str | Path | None = None, packages: Sequence[str] = ()
) -> dict[str, Any]:
    """Metadata keys ``code_version``, ``environment`` and ``created`` for a new run."""
    out: dict[str, Any] = {"environment": environment(packages)}
    version = code_version(cwd)
    if version:
        out["code_version"] = version
    out["created"] = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    return out
