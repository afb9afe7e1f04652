"""One exception family; every error names the file, the place in it and the field."""

from __future__ import annotations


class RunCompareError(Exception):
    """Base class of every error pytest-runcompare raises on purpose."""


class RunFormatError(RunCompareError, ValueError):
    """A run file is malformed: names the file, the line or datapoint, and the field.

    ``str(error)`` reads ``path:line: datapoint 'id': field 'name': what is wrong``, with the
    parts that are known, followed by what to do when there is advice to give.
    """

    def __init__(
        self,
        message: str,
        *,
        path: object | None = None,
        line: int | None = None,
        datapoint: object | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.datapoint = datapoint
        self.field = field
        self.reason = message
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
        elif self.line is not None:
            where = f"line {self.line}"
        parts = [where] if where else []
        if self.datapoint is not None:
            parts.append(f"datapoint {self.datapoint!r}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        text = ": ".join([*parts, self.reason])
        if self.hint:
            text += f" ({self.hint})"
        return text


class RunNotFoundError(RunCompareError, FileNotFoundError):
    """A run path does not exist or no reader recognises what is there."""


class ConfigError(RunCompareError, ValueError):
    """A gate configuration is invalid: names the file, the key and what is accepted."""


class ComparisonError(RunCompareError, ValueError):
    """Two runs cannot be compared as asked (unknown metric, slice or step)."""
