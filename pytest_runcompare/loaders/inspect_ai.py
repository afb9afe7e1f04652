"""Inspect AI evaluation logs: ``.eval`` (a zip) and ``.json``, read the same way.

A ``.eval`` log holds ``header.json`` (or, while the run is in progress, only
``_journal/start.json``) and one ``samples/<id>_epoch_<n>.json`` per sample; a
``.json`` log holds the same objects in one document. Either gives the same run.

Datapoint ids are the sample ids; with several epochs each (sample, epoch) is a
datapoint ``<id>#epoch<n>`` whose ``group`` is the sample id, so the statistics treat
the epochs as replicates of one datapoint. Outputs are the completion text, inputs
and targets are kept as logged, and each scorer's value becomes a metric with
Inspect's value mapping (``C`` = 1, ``P`` = 0.5, ``I`` = ``N`` = 0, booleans, numeric
strings); a scorer whose value is a mapping gives one metric per key
(``<scorer>/<key>``). Values that map to no number are left out with a warning,
never counted as 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.hookspecs import hookimpl
from pytest_runcompare.loaders._common import (
    array_field,
    json_starts_with_key,
    object_field,
    read_head,
)

if TYPE_CHECKING:
    from zipfile import ZipFile

    from pytest_runcompare.runs import Run, RunMeta

FORMAT = "inspect_ai"
_FORMAT_NAMES = (FORMAT, "inspect", "inspect-ai")
_ZIP_MAGIC = b"PK\x03\x04"
_SAMPLE_RE = re.compile(r"^samples/(?P<id>.+)_epoch_(?P<epoch>\d+)\.json$")
#: Inspect's ``value_to_float`` letters.
_LETTERS = {"C": 1.0, "P": 0.5, "I": 0.0, "N": 0.0}
_WORDS = {"yes": 1.0, "true": 1.0, "no": 0.0, "false": 0.0}
_NUMERIC = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_EVAL_CONFIG_KEYS = (
    "limit",
    "sample_id",
    "epochs",
    "epochs_reducer",
    "message_limit",
    "token_limit",
    "time_limit",
    "working_limit",
)


@hookimpl(trylast=True)
def pytest_runcompare_load_run(location: str, options: Mapping[str, Any]) -> Run | None:
    """Read an Inspect AI log, or ``None`` when the path is not one."""
    from pytest_runcompare.loaders.registry import split_location

    fmt = options.get("format")
    if fmt is not None and fmt not in _FORMAT_NAMES:
        return None
    path, _ = split_location(location)
    if path.is_dir():
        return None
    head = read_head(path)
    suffix = path.suffix.lower()
    slice_keys = _slice_keys(options.get("slice_metadata"), path)
    if suffix == ".eval" or (fmt is not None and head.startswith(_ZIP_MAGIC)):
        return read_eval_log(path, slice_metadata=slice_keys)
    if fmt is not None or (
        suffix == ".json"
        and json_starts_with_key(head, "version")
        and b'"eval"' in head
    ):
        return read_json_log(path, slice_metadata=slice_keys)
    return None


def _slice_keys(value: Any, path: Path) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise RunFormatError(
        f"slice_metadata must be a metadata key or a list of keys, got {value!r}",
        path=path,
    )


# --------------------------------------------------------------------------- files


def read_eval_log(path: Path, *, slice_metadata: tuple[str, ...] = ()) -> Run:
    """A ``.eval`` log (zip): the header, then every ``samples/*.json`` member.

    What is decompressed is bounded (``MEMBER_BYTES`` per member, ``ARCHIVE_BYTES`` in
    all), a damaged archive is a :class:`RunFormatError`, and no listed sample is
    dropped without a word.
    """
    import zipfile

    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise RunFormatError(
            f"not a readable Inspect .eval log: {error}",
            path=path,
            hint="a .eval log is a zip archive; a truncated copy cannot be read",
        ) from None
    with archive:
        reader = _MemberReader(archive, path)
        infos = archive.infolist()
        names = [info.filename for info in infos]
        for special in ("header.json", "_journal/start.json", "summaries.json"):
            if names.count(special) > 1:
                raise RunFormatError(
                    f"the archive holds {names.count(special)} members named "
                    f"{special}: which one describes the run is ambiguous",
                    path=path,
                    hint="the log was appended to or tampered with; use the copy "
                    "Inspect wrote",
                )
        if "header.json" in names:
            header = reader.read("header.json")
        elif "_journal/start.json" in names:
            start = reader.read("_journal/start.json")
            header = (
                {**start, "status": "started"} if isinstance(start, dict) else start
            )
        else:
            raise RunFormatError(
                "not an Inspect .eval log: the zip has no header.json or "
                f"_journal/start.json (found {sorted(names)[:5]})",
                path=path,
            )
        header = _require_header(header, path)
        listed = (
            _listed_samples(reader.read("summaries.json"), path)
            if "summaries.json" in names
            else None
        )
        members = [n for n in names if n.startswith("samples/") and n.endswith(".json")]
        samples, warnings = _read_samples(reader, members, path)
    _check_listed(header, listed, samples, path, warnings)
    samples.sort(key=lambda item: _sample_key(item[1]))
    run = _build(
        header, samples, path, has_samples=bool(members), slice_metadata=slice_metadata
    )
    if warnings:
        from dataclasses import replace

        run = replace(run, warnings=(*warnings, *run.warnings))
    return run


class _MemberReader:
    """Reads members of one archive, bounded per member and in all."""

    def __init__(self, archive: ZipFile, path: Path) -> None:
        from pytest_runcompare import limits

        self.archive = archive
        self.path = path
        self.member_cap = limits.MEMBER_BYTES.value
        self.left = limits.ARCHIVE_BYTES.value

    def _error(self, name: str, what: str, hint: str | None = None) -> RunFormatError:
        return RunFormatError(
            f"cannot read {name} from the .eval log: {what}",
            path=self.path,
            hint=hint or "the archive is damaged or was cut off",
        )

    def raw(self, name: str) -> bytes:
        """The member's bytes, refused past ``MEMBER_BYTES`` or ``ARCHIVE_BYTES``."""
        import zipfile
        import zlib

        from pytest_runcompare import limits

        info = self.archive.getinfo(name)
        # Checked before anything is decompressed (the declared size) and again on
        # the bytes really produced, read in chunks.
        if info.file_size > self.member_cap:
            raise self._error(
                name, limits.MEMBER_BYTES.exceeded(f"{info.file_size:,} declared")
            )
        if info.file_size > self.left:
            raise self._error(name, limits.ARCHIVE_BYTES.exceeded("with this member"))
        cap = min(self.member_cap, self.left)
        pieces: list[bytes] = []
        size = 0
        try:
            with self.archive.open(info) as handle:
                while piece := handle.read(1 << 20):
                    size += len(piece)
                    if size > cap:
                        limit = (
                            limits.MEMBER_BYTES
                            if cap == self.member_cap
                            else limits.ARCHIVE_BYTES
                        )
                        raise self._error(name, limit.exceeded(f"{size:,}+"))
                    pieces.append(piece)
        except NotImplementedError as error:  # before RuntimeError, its base  # a compression method zipfile lacks
            raise self._error(
                name,
                f"{error}",
                "Inspect writes deflate-compressed members; re-zip with deflate",
            ) from None
        except RuntimeError as error:  # zipfile's "encrypted, password required"
            raise self._error(
                name,
                f"{error}",
                "Inspect does not encrypt its logs: decrypt the archive first",
            ) from None
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as error:
            raise self._error(name, f"{type(error).__name__}: {error}") from None
        self.left -= size
        return b"".join(pieces)

    def read(self, name: str) -> Any:
        """The member parsed as JSON (duplicate keys, long integers refused)."""
        from pytest_runcompare.loaders.files import check_surrogates, loads

        data = self.raw(name)
        try:
            value = loads(data.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise RunFormatError(
                f"{name} in the .eval log is not UTF-8 (byte {error.start})",
                path=self.path,
            ) from None
        except RecursionError:
            raise RunFormatError(
                f"{name} in the .eval log: JSON nested too deeply", path=self.path
            ) from None
        except ValueError as error:
            from pytest_runcompare.loaders.files import _json_error

            inner = _json_error(error, self.path, None, data.decode("utf-8"))
            raise RunFormatError(
                f"{name} in the .eval log: {inner.reason}",
                path=self.path,
                line=inner.line,
                field=inner.field,
            ) from None
        try:
            check_surrogates(value, data, self.path, None)
        except RunFormatError as error:
            raise RunFormatError(
                f"{name} in the .eval log: {error.reason}",
                path=self.path,
                field=error.field,
            ) from None
        return value


def _read_samples(
    reader: _MemberReader, members: list[str], path: Path
) -> tuple[list[tuple[str, Any]], list[str]]:
    """Every sample member, keyed by its content; damaged names said, not dropped."""
    samples: list[tuple[str, Any]] = []
    warnings: list[str] = []
    seen: dict[tuple[str, int], str] = {}
    for name in members:
        sample = reader.read(name)
        key = sample_identity(name, sample, path)
        if key in seen:
            raise RunFormatError(
                f"sample {key[0]!r} epoch {key[1]} is in two members, {seen[key]} and "
                f"{name}: which one holds the result is ambiguous",
                path=path,
                field=name,
            )
        seen[key] = name
        match = _SAMPLE_RE.match(name)
        if match is None or (match["id"], int(match["epoch"])) != key:
            warnings.append(
                f"{path}: archive member {name!r} does not have the name Inspect gives "
                f"sample {key[0]!r} epoch {key[1]} (samples/{key[0]}_epoch_{key[1]}"
                ".json): read from its content; the archive may be damaged"
            )
        samples.append((name, sample))
    return samples, warnings


def _epoch(sample: Mapping[str, Any]) -> int:
    epoch = sample.get("epoch", 1)
    return epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else 1


def _preview(value: Any) -> str:
    """A short, one-line sight of a run-data value for an error message."""
    from pytest_runcompare.untrusted import one_line

    text = repr(value)
    return one_line(text if len(text) <= 40 else text[:40] + "...")


def sample_identity(where: str, sample: Any, path: Path) -> tuple[str, int]:
    """The sample's (id, epoch), checked: an id is a string or an integer.

    The epoch is a positive integer; ``where`` names the sample in the log (a member
    or ``samples[i]``).
    """
    if not isinstance(sample, dict) or sample.get("id") is None:
        raise RunFormatError(
            "not an Inspect sample: expected an object with 'id'",
            path=path,
            field=where,
        )
    sample_id = sample["id"]
    if isinstance(sample_id, bool) or not isinstance(sample_id, str | int):
        raise RunFormatError(
            f"a sample id must be a string or an integer, got "
            f"{type(sample_id).__name__} {_preview(sample_id)}",
            path=path,
            datapoint=where,
            field="id",
            hint="Inspect writes the dataset's sample ids; the log is damaged",
        )
    epoch = sample.get("epoch", 1)
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        raise RunFormatError(
            f"{where}: an epoch must be a positive integer, got "
            f"{type(epoch).__name__} {_preview(epoch)}",
            path=path,
            datapoint=str(sample_id),
            field="epoch",
            hint="Inspect numbers epochs 1, 2, ...; the log is damaged",
        )
    return str(sample_id), epoch


def _listed_samples(summaries: Any, path: Path) -> set[tuple[str, int]]:
    """The (id, epoch) pairs that ``summaries.json`` says the log holds."""
    if not isinstance(summaries, list):
        raise RunFormatError(
            f"summaries.json must be a list of sample summaries, got "
            f"{type(summaries).__name__}",
            path=path,
        )
    return {
        (str(s["id"]), _epoch(s))
        for s in summaries
        if isinstance(s, dict) and s.get("id") is not None
    }


def _check_listed(
    header: Mapping[str, Any],
    listed: set[tuple[str, int]] | None,
    samples: list[tuple[str, Any]],
    path: Path,
    warnings: list[str],
) -> None:
    """A sample the log lists but does not hold is an error in a finished log."""
    if listed is None:
        return
    found = {(str(s["id"]), _epoch(s)) for _, s in samples}
    missing = sorted(listed - found, key=lambda k: (_id_key(k[0]), k[1]))
    if not missing:
        return
    shown = ", ".join(f"{i} (epoch {e})" for i, e in missing[:5])
    shown += ", ..." if len(missing) > 5 else ""
    if header.get("status") == "success":
        raise RunFormatError(
            f"{len(missing)} sample(s) listed in summaries.json have no sample member "
            f"in the archive: {shown}",
            path=path,
            hint="the archive is damaged (a member lost or renamed); use an intact "
            "copy or re-run the evaluation",
        )
    warnings.append(
        f"{path}: {len(missing)} sample(s) listed in summaries.json are not in the "
        f"archive yet ({shown}): the log is {header.get('status')!r}"
    )


def read_json_log(path: Path, *, slice_metadata: tuple[str, ...] = ()) -> Run:
    """A ``.json`` log: one document with ``eval``, ``results`` and ``samples``."""
    from pytest_runcompare.loaders._common import load_json

    doc = load_json(path)
    header = _require_header(doc, path)
    raw_samples = doc.get("samples")
    if raw_samples is not None and not isinstance(raw_samples, list):
        raise RunFormatError(
            f"must be a list of samples, got {type(raw_samples).__name__}",
            path=path,
            field="samples",
        )
    samples = [(f"samples[{i}]", s) for i, s in enumerate(raw_samples or [])]
    samples.sort(key=lambda item: _sample_key(item[1]))
    return _build(
        header,
        samples,
        path,
        has_samples=bool(raw_samples),
        slice_metadata=slice_metadata,
    )


def _require_header(doc: Any, path: Path) -> dict[str, Any]:
    if not isinstance(doc, dict) or not isinstance(doc.get("eval"), dict):
        found = sorted(map(str, doc)) if isinstance(doc, dict) else type(doc).__name__
        raise RunFormatError(
            f"not an Inspect AI log: expected an object with 'eval', found {found}",
            path=path,
        )
    return doc


def _id_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, int) and not isinstance(value, bool):
        return (0, value)
    text = str(value)
    return (0, int(text)) if text.isdigit() else (1, text)


def _sample_key(sample: Any) -> tuple[Any, ...]:
    if not isinstance(sample, dict):
        return ((2, ""), 0)
    epoch = sample.get("epoch")
    return (_id_key(sample.get("id")), epoch if isinstance(epoch, int) else 0)


# --------------------------------------------------------------------------- values


def score_value(value: Any) -> float | bool | None:
    """Inspect's ``value_to_float``, except that what maps to no number is ``None``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        number = float(value)
        return number if number == number and abs(number) != float("inf") else None
    if isinstance(value, str):
        if value in _LETTERS:
            return _LETTERS[value]
        low = value.strip().lower()
        if low in _WORDS:
            return _WORDS[low]
        if _NUMERIC.match(low):
            return float(low)
    return None


def _resolve(value: Any, attachments: Mapping[str, Any], depth: int = 0) -> Any:
    """Replace ``attachment://<hash>`` references by the attached content.

    Only down to ``NESTING`` levels: a value nested 900 deep is kept as it is rather
    than recursed into (a ``RecursionError``); Inspect's references sit a few deep.
    """
    from pytest_runcompare import limits

    if not attachments:
        return value
    if isinstance(value, str) and value.startswith("attachment://"):
        return attachments.get(value[len("attachment://") :], value)
    if depth >= limits.NESTING.value:
        return value
    if isinstance(value, list):
        return [_resolve(v, attachments, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, attachments, depth + 1) for k, v in value.items()}
    return value


def _content_text(content: Any) -> str | None:
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            c.get("text", "")
            for c in content
            if isinstance(c, dict) and c.get("type") == "text"
        ]
        return "".join(texts)
    return str(content)


def completion(output: Any) -> str | None:
    """The model's completion text: ``output.completion`` or the first choice's text."""
    if not isinstance(output, dict):
        return None
    text = output.get("completion")
    if isinstance(text, str) and text:
        return text
    choices = output.get("choices")
    if isinstance(choices, list) and choices:
        message = choices[0].get("message") if isinstance(choices[0], dict) else None
        if isinstance(message, dict):
            return _content_text(message.get("content"))
    return text if isinstance(text, str) else None


# --------------------------------------------------------------------------- building


def _build(
    header: dict[str, Any],
    samples: Iterable[tuple[str, Any]],
    path: Path,
    *,
    has_samples: bool,
    slice_metadata: tuple[str, ...] = (),
) -> Run:
    from dataclasses import replace

    from pytest_runcompare.building import RunBuilder

    samples = list(samples)
    for where, sample in samples:
        sample_identity(where, sample, path)
    warnings: list[str] = []
    meta = _meta(header, samples, path)
    status = header.get("status")
    if status != "success":
        detail = ""
        error = header.get("error")
        if isinstance(error, dict) and error.get("message"):
            detail = f" ({str(error['message']).splitlines()[0][:120]})"
        warnings.append(
            f"{path}: the Inspect log's status is {status!r}, not 'success'{detail}: "
            "comparing the samples it holds"
        )
    if not has_samples:
        from pytest_runcompare.runs import Datapoints, Run

        warnings.append(
            f"{path}: the log holds no samples (was it written with --no-log-samples?): "
            "only the aggregate scores can be compared"
        )
        return Run(
            meta=replace(meta, source=str(path)),
            datapoints=Datapoints(ids=[], outputs=[], metrics={}),
            warnings=tuple(warnings),
        )
    epochs = {s.get("epoch") for _, s in samples if isinstance(s, dict)}
    config = header["eval"].get("config")
    configured = config.get("epochs") if isinstance(config, dict) else None
    several = len(epochs) > 1 or (isinstance(configured, int) and configured > 1)
    skipped: dict[str, str] = {}
    errors: list[str] = []
    records = [
        _record(where, sample, path, several, skipped, errors, slice_metadata)
        for where, sample in samples
    ]
    if not any(r["metrics"] for r in records):
        warnings.append(
            f"{path}: the log has no scores (it was run unscored, e.g. with "
            "--no-score): loaded with no metrics; score it with `inspect score` to "
            "compare metrics"
        )
    for metric, example in skipped.items():
        warnings.append(
            f"{path}: score {metric!r} has values that map to no number (e.g. "
            f"{example}): left out where they occur, not counted as 0"
        )
    if errors:
        shown = ", ".join(errors[:5]) + (", ..." if len(errors) > 5 else "")
        warnings.append(
            f"{path}: {len(errors)} sample(s) ended in an error ({shown}): kept with the "
            "slice 'error', unscored where the log has no score"
        )
    builder = RunBuilder(path=str(path), definitions=meta.metric_definitions)
    builder.warnings.extend(warnings)
    builder.add(records)
    return builder.finish(replace(meta, source=str(path)))


def _record(
    where: str,
    sample: Any,
    path: Path,
    several_epochs: bool,
    skipped: dict[str, str],
    errors: list[str],
    slice_metadata: tuple[str, ...],
) -> dict[str, Any]:
    key, epoch = sample_identity(where, sample, path)
    attachments = sample.get("attachments")
    attachments = attachments if isinstance(attachments, dict) else {}
    record: dict[str, Any] = {
        "id": f"{key}#epoch{epoch}" if several_epochs else key,
        "input": _resolve(sample.get("input"), attachments),
        "output": _resolve(completion(sample.get("output")), attachments),
        "expected": _resolve(sample.get("target"), attachments),
    }
    if several_epochs:
        record["group"] = key
    metrics: dict[str, float | bool] = {}
    scores = sample.get("scores")
    for scorer, score in scores.items() if isinstance(scores, dict) else ():
        value = score.get("value") if isinstance(score, dict) else score
        items = (
            [(f"{scorer}/{k}", v) for k, v in value.items()]
            if isinstance(value, dict)
            else [(scorer, value)]
        )
        for name, raw in items:
            if raw is None:
                continue
            number = score_value(raw)
            if number is None:
                skipped.setdefault(name, repr(raw)[:40])
            else:
                metrics[name] = number
    record["metrics"] = metrics
    tags: list[str] = []
    if sample.get("error"):
        tags.append("error")
        errors.append(record["id"])
    metadata = sample.get("metadata")
    if isinstance(metadata, dict):
        for name in slice_metadata:
            value = metadata.get(name)
            if isinstance(value, str | int | bool):
                tags.append(f"{name}:{value}")
    if tags:
        record["slices"] = tags
    return record


def _aggregates(results: Any) -> Iterator[tuple[str, float]]:
    scores = results.get("scores") if isinstance(results, dict) else None
    for entry in scores if isinstance(scores, list) else ():
        if not isinstance(entry, dict):
            continue
        name = entry.get("name") or entry.get("scorer")
        metrics = entry.get("metrics")
        for metric, spec in metrics.items() if isinstance(metrics, dict) else ():
            if "stderr" in metric or metric in ("std", "var"):
                continue
            value = spec.get("value") if isinstance(spec, dict) else spec
            if isinstance(value, int | float) and not isinstance(value, bool):
                yield f"{name}/{metric}", float(value)


def _meta(
    header: dict[str, Any], samples: list[tuple[str, Any]], path: Path
) -> RunMeta:
    from pytest_runcompare.building import parse_meta

    ev = header["eval"]
    plan = object_field(header, "plan")
    config = object_field(ev, "config")
    dataset = object_field(ev, "dataset")
    revision = object_field(ev, "revision")
    sample_ids = dataset.get("sample_ids")
    if sample_ids is None:
        # older logs do not list them: the samples present are the ones evaluated
        seen = {s.get("id") for _, s in samples if isinstance(s, dict)}
        sample_ids = sorted((i for i in seen if i is not None), key=_id_key) or None
    steps = array_field(plan, "steps")
    generate = plan.get("config") or ev.get("model_generate_config") or None
    params = {
        "task": ev.get("task"),
        "task_version": ev.get("task_version"),
        "task_args": ev.get("task_args") or None,
        "model": ev.get("model"),
        "model_args": ev.get("model_args") or None,
        "model_base_url": ev.get("model_base_url"),
        "generate_config": generate,
        "solvers": [s.get("solver") for s in steps if isinstance(s, dict)] or None,
        "dataset": {
            k: dataset[k]
            for k in ("name", "location", "samples", "shuffled")
            if dataset.get(k) is not None
        }
        or None,
        **{k: config[k] for k in _EVAL_CONFIG_KEYS if config.get(k) is not None},
    }
    code_version = {
        k: revision[k] for k in ("commit", "dirty", "origin") if k in revision
    }
    seed = config.get("seed")
    if seed is None and isinstance(generate, dict):
        seed = generate.get("seed")
    status = header.get("status")
    raw = {
        "name": ev.get("task"),
        "params": {k: v for k, v in params.items() if v is not None},
        "code_version": code_version or None,
        "environment": {"packages": ev["packages"]}
        if isinstance(ev.get("packages"), dict)
        else None,
        "seed": seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        "created": ev.get("created"),
        "metrics": dict(_aggregates(header.get("results"))),
        "complete": status == "success",
        "inspect_ai": {
            "status": status,
            "run_id": ev.get("run_id"),
            "eval_id": ev.get("eval_id"),
            "task_id": ev.get("task_id"),
            "sample_ids": sample_ids,
        },
    }
    return parse_meta(raw, path=str(path), format=FORMAT)
