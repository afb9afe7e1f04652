"""Recording a candidate run from inside a test session, one datapoint at a time.

The ``runcompare_recorder`` fixture hands tests a :class:`Recorder`; at the end of the
recording the datapoints become a :class:`~pytest_runcompare.runs.Run` with lineage.
Under xdist each worker records its share and the controller merges them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runcompare.building import DatapointSink
from pytest_runcompare.errors import RunFormatError

if TYPE_CHECKING:
    from pytest_runcompare.runs import Run


class Recorder(DatapointSink):
    """Collects datapoints that tests log; each is validated when it is recorded."""

    def __init__(
        self,
        *,
        name: str = "recorded candidate",
        params: Mapping[str, Any] | None = None,
        seed: int | None = None,
        metric_definitions: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.name = name
        self.params = dict(params or {})
        self.seed = seed
        self.metric_definitions = {
            k: dict(v) for k, v in (metric_definitions or {}).items()
        }
        self._records: list[dict[str, Any]] = []
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._records)

    #: ``runcompare_recorder.record(id, output=..., metrics=...)``: log one datapoint.
    record = DatapointSink.add

    def add_record(self, record: Mapping[str, Any]) -> None:
        """Log one datapoint given as a native record."""
        from pytest_runcompare.building import check_record, parse_metric_definitions

        __tracebackhide__ = True
        definitions = parse_metric_definitions(self.metric_definitions, path=None)
        try:
            key = check_record(
                record, path="runcompare_recorder", definitions=definitions
            )
        except RunFormatError as error:
            # Raised afresh here so that the traceback ends at the test's own call.
            raise error.with_traceback(None) from None
        with self._lock:
            if key in self._ids:
                raise RunFormatError(
                    "recorded twice: datapoint ids must be unique within the recorded run",
                    path="runcompare_recorder",
                    datapoint=key,
                    field="id",
                )
            self._ids.add(key)
            self._records.append(dict(record))

    def records(self) -> list[dict[str, Any]]:
        """The recorded datapoints, in recording order."""
        with self._lock:
            return list(self._records)

    def merge(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Add datapoints recorded elsewhere (an xdist worker)."""
        for record in records:
            self.add_record(record)

    def to_run(self, *, cwd: str | Path | None = None) -> Run:
        """The recorded datapoints as a run, with lineage captured now."""
        from pytest_runcompare.building import build_run
        from pytest_runcompare.lineage import capture_lineage

        meta: dict[str, Any] = {"name": self.name, **capture_lineage(cwd=cwd)}
        if self.params:
            meta["params"] = self.params
        if self.seed is not None:
            meta["seed"] = self.seed
        if self.metric_definitions:
            meta["metric_definitions"] = self.metric_definitions
        records = sorted(self.records(), key=lambda r: str(r["id"]))
        return build_run(records, meta, path="runcompare_recorder")
