"""Recording a candidate run from inside a test session, one datapoint at a time.

The ``runcompare_recorder`` fixture hands tests a :class:`Recorder`; at the end of the
recording the datapoints become a :class:`~pytest_runcompare.runs.Run` with lineage.
The model's name, params and seed come from :meth:`Recorder.describe` or the ini keys
``runcompare_record_name``/``_params``/``_seed``, never from the resampling seed.
Under xdist each worker records its share and the controller merges them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runcompare.building import DatapointSink
from pytest_runcompare.errors import ConfigError, RunFormatError

DEFAULT_NAME = "recorded candidate"

if TYPE_CHECKING:
    from pytest_runcompare.runs import Run


class Recorder(DatapointSink):
    """Collects datapoints that tests log; each is validated when it is recorded."""

    def __init__(
        self,
        *,
        name: str = DEFAULT_NAME,
        params: Mapping[str, Any] | None = None,
        seed: int | None = None,
        metric_definitions: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.name = _check_name(name, "name")
        self.params = _check_params(params or {}, "params")
        self.seed = _check_seed(seed, "seed")
        self.metric_definitions = {
            k: dict(v) for k, v in (metric_definitions or {}).items()
        }
        self._records: list[dict[str, Any]] = []
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def describe(
        self,
        *,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        seed: int | None = None,
    ) -> None:
        """Say which model the recorded run is: its name, parameters and seed.

        ``runcompare_recorder.describe(name="gpt-x (temp 0)", params={...}, seed=3)``,
        e.g. in a session fixture; what is not given stays as it was.
        """
        __tracebackhide__ = True
        with self._lock:
            if name is not None:
                self.name = _check_name(name, "describe(name=...)")
            if params is not None:
                self.params = _check_params(params, "describe(params=...)")
            if seed is not None:
                self.seed = _check_seed(seed, "describe(seed=...)")

    def lineage(self) -> dict[str, Any]:
        """The name, params and seed, to hand from an xdist worker to the controller."""
        return {"name": self.name, "params": dict(self.params), "seed": self.seed}

    def adopt(self, lineage: Mapping[str, Any]) -> None:
        """Take what a worker's tests described, where this recorder was not told."""
        if self.name == DEFAULT_NAME and lineage.get("name"):
            self.name = str(lineage["name"])
        if not self.params and lineage.get("params"):
            self.params = dict(lineage["params"])
        if self.seed is None and lineage.get("seed") is not None:
            self.seed = int(lineage["seed"])

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


def _check_name(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"runcompare_recorder {where}: expected a non-empty name, got {value!r}"
        )
    return value


def _check_params(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfigError(
            f"runcompare_recorder {where}: expected a mapping of parameter names to "
            f"values, got {value!r}"
        )
    return dict(value)


def _check_seed(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(
            f"runcompare_recorder {where}: expected the model's seed, a non-negative "
            f"integer, got {value!r}"
        )
    return value


def options_from_ini(getini: Callable[[str], Any]) -> dict[str, Any]:
    """Recorder keywords from the ini keys ``runcompare_record_name/params/seed``.

    Raises
    ------
    ConfigError
        Naming the ini key and what it accepts.

    """
    options: dict[str, Any] = {}
    name = getini("runcompare_record_name")
    if name:
        options["name"] = _check_name(str(name), "(ini key runcompare_record_name)")
    params = getini("runcompare_record_params")
    if params:
        import yaml

        try:
            parsed = yaml.safe_load(str(params))
        except yaml.YAMLError as error:
            raise ConfigError(
                f"ini key runcompare_record_params: not a JSON or YAML mapping: {error}"
            ) from None
        options["params"] = _check_params(parsed, "(ini key runcompare_record_params)")
    seed = getini("runcompare_record_seed")
    if seed:
        try:
            number: object = int(str(seed).strip())
        except ValueError:
            number = seed
        options["seed"] = _check_seed(number, "(ini key runcompare_record_seed)")
    return options
