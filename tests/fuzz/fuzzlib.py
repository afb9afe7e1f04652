"""The fuzz campaign's parts: seed inputs, mutations, and the oracle every input must pass.

Shared by ``tests/fuzz`` (a few seconds, seeded) and ``benchmarks/fuzz.py`` (minutes,
in a memory-capped subprocess). A case is fully named by ``(seed, index)``: the same
pair rebuilds the same bytes, so every failure is reproduced with
``python benchmarks/fuzz.py --seed S --case I``.

The oracle: every input ends in a loaded run or a clear error, a
:class:`RunCompareError` whose message names the file (for the CLI: exit 2 and one
line on stderr); never another exception and never a hang.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import random
import signal
import traceback
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "fixtures" / "real"
DATA = ROOT / "tests" / "loaders" / "data"


class CaseTimeout(Exception):
    """A case ran past its time budget (a hang)."""


@dataclass(frozen=True)
class Seed:
    """An input to mutate: files (relative path -> bytes) and the location to load."""

    name: str
    files: dict[str, bytes]
    target: str  # relative path, optionally with ::selector
    kind: str  # "json", "jsonl", "yaml", "csv", "zip", "dir", "gates"


@dataclass
class Outcome:
    """What one input did: ``ok``, ``clear`` (a good error) or ``bug``."""

    status: str
    recipe: str
    detail: str = ""
    where: str = ""

    @property
    def signature(self) -> str:
        """What makes two bugs the same bug: the exception and where it was raised."""
        return f"{self.detail.split(':', 1)[0]} at {self.where}"


# --- seeds -------------------------------------------------------------------------


def _native_records(n: int, shift: float = 0.0) -> list[dict[str, Any]]:
    rng = random.Random(n)
    out = []
    for i in range(n):
        ok = rng.random() < 0.8
        out.append(
            {
                "id": f"q-{i}",
                "input": f"question {i} ü 中",
                "output": "yes" if ok else "no",
                "expected": "yes",
                "metrics": {
                    "exact_match": ok,
                    "latency_ms": round(200 + 50 * rng.random() + shift, 3),
                    "answer_length": rng.randint(1, 40),
                },
                "slices": [f"lang:{'de' if i % 2 else 'en'}"],
                "steps": [
                    {
                        "name": "retrieve",
                        "output": [f"doc-{i}"],
                        "metrics": {"recall": 1.0},
                    }
                ],
            }
        )
    return out


def _jsonl(records: list[dict[str, Any]], meta: dict[str, Any] | None) -> bytes:
    lines = [json.dumps({"run": meta})] if meta else []
    lines += [json.dumps(r, ensure_ascii=False) for r in records]
    return ("\n".join(lines) + "\n").encode()


META = {
    "name": "fuzz",
    "params": {"lr": 0.001},
    "seed": 0,
    "metric_definitions": {"latency_ms": {"direction": "lower"}},
}


def native_seeds() -> list[Seed]:
    """Native runs in each of their shapes."""
    records = _native_records(24)
    doc = {"run": META, "datapoints": records}
    csv_lines = ["id,exact_match,latency_ms,output,slices"]
    csv_lines += [
        f"{r['id']},{int(r['metrics']['exact_match'])},{r['metrics']['latency_ms']},"
        f"{r['output']},{r['slices'][0]};all"
        for r in records
    ]
    return [
        Seed(
            "native-jsonl", {"run.jsonl": _jsonl(records, META)}, "run.jsonl", "jsonl"
        ),
        Seed("native-json", {"run.json": json.dumps(doc).encode()}, "run.json", "json"),
        Seed(
            "native-yaml",
            {"run.yaml": yaml.safe_dump(doc, allow_unicode=True).encode()},
            "run.yaml",
            "yaml",
        ),
        Seed(
            "native-csv", {"run.csv": "\n".join(csv_lines).encode()}, "run.csv", "csv"
        ),
        Seed(
            "native-dir",
            {
                "run/run.yaml": yaml.safe_dump(META).encode(),
                "run/datapoints.jsonl": _jsonl(records, None),
            },
            "run",
            "dir",
        ),
    ]


def _read(base: Path, names: list[str], prefix: str = "") -> dict[str, bytes]:
    return {prefix + name: (base / name).read_bytes() for name in names}


def real_seeds() -> list[Seed]:
    """The real files of other tools (skipped when ../shared is absent) and our data."""
    seeds: list[Seed] = []
    if REAL.is_dir():
        luo = REAL / "lm-eval_masakhaner-luo_gemma-2b_0shot-vs-5shot"
        date = "2026-01-16T20-19-39.102073"
        seeds.append(
            Seed(
                "lm-eval-samples",
                _read(
                    luo,
                    [
                        f"masakhaner_luo_prompt_3_0shot_{date}.json",
                        f"samples_masakhaner_luo_prompt_3_{date}.jsonl",
                    ],
                ),
                f"samples_masakhaner_luo_prompt_3_{date}.jsonl",
                "jsonl",
            )
        )
        tom = (
            REAL
            / "lm-eval_negotiationtom_qwen3-8b_rerun/run_17-52-34.622576/Qwen__Qwen3-8B"
        )
        names = sorted(p.name for p in tom.iterdir())
        seeds.append(Seed("lm-eval-folder", _read(tom, names, "out/"), "out", "dir"))
        inspect = REAL / "inspect_ai"
        for path in sorted(inspect.glob("*.eval")):
            seeds.append(
                Seed(
                    f"inspect-{path.stem}-eval",
                    _read(inspect, [path.name]),
                    path.name,
                    "zip",
                )
            )
        for path in sorted(inspect.glob("*.json")):
            seeds.append(
                Seed(
                    f"inspect-{path.stem}-json",
                    _read(inspect, [path.name]),
                    path.name,
                    "json",
                )
            )
        seeds.append(
            Seed(
                "promptfoo",
                _read(REAL / "promptfoo_nicheIQ", ["results.json"]),
                "results.json::column=0",
                "json",
            )
        )
    table = DATA / "mlruns/271828/0a1b2c3d4e5f/artifacts/eval_results_table.json"
    if table.is_file():
        seeds.append(
            Seed(
                "mlflow-table",
                {"eval_results_table.json": table.read_bytes()},
                "eval_results_table.json",
                "json",
            )
        )
        run = table.parents[1]
        names = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())
        seeds.append(
            Seed(
                "mlflow-run-folder",
                _read(run, names, "mlruns/271828/0a1b2c3d4e5f/"),
                "mlruns/271828/0a1b2c3d4e5f",
                "dir",
            )
        )
    return seeds


def run_seeds() -> list[Seed]:
    """Every reader's seeds, in a fixed order (the order is part of a case's name)."""
    return [*native_seeds(), *real_seeds()]


GATES_RUNS = {
    "runs/baseline.jsonl": _jsonl(_native_records(40), META),
    "runs/candidate.jsonl": _jsonl(_native_records(40, shift=3.0), META),
}
GATES_REFERENCE = """\
baseline: runs/baseline.jsonl
candidate: runs/candidate.jsonl
seed: 0
defaults:
  alpha: 0.05
  mode: non_inferiority
  correction: holm
  missing: fail
  min_coverage: 0.99
  pairing: paired
  compatibility: fail
  incomplete_runs: fail
  inconclusive: fail
  power: warn
  power_warn_below: 0.8
  power_correlation: 0
metrics:
  exact_match:
    direction: higher
    aggregate: mean
    margin: 0.2
    test: auto
    slices: [lang:de]
    steps: [retrieve]
    max_new_failures: 3
  latency_ms:
    direction: lower
    aggregate: p95
    margin: 10%
  answer_length:
    mode: equivalence
    margin: 50%
report:
  max_outputs: 2000
waivers:
  - metric: exact_match
    slice: lang:de
    reason: "new tokenizer, accepted in #123"
    expires: 2099-12-31
  - ids: [q-17, q-3]
    reason: relabelled gold answers
"""


def gates_seeds() -> list[Seed]:
    """The gates file of the README's reference, and the bundled example's."""
    example = ROOT / "examples/sklearn_classifier/runcompare.yaml"
    seeds = [
        Seed(
            "gates-reference",
            {"runcompare.yaml": GATES_REFERENCE.encode(), **GATES_RUNS},
            "runcompare.yaml",
            "gates",
        )
    ]
    if example.is_file():
        text = example.read_bytes().replace(b"runs/baseline", b"runs/baseline.jsonl")
        text = text.replace(b"runs/candidate", b"runs/candidate.jsonl")
        text = text.replace(b"correct:", b"exact_match:").replace(
            b"p_true:", b"latency_ms:"
        )
        text = text.replace(b"log_loss:", b"answer_length:")
        seeds.append(
            Seed(
                "gates-example",
                {"runcompare.yaml": text, **GATES_RUNS},
                "runcompare.yaml",
                "gates",
            )
        )
    return seeds


# --- mutations ---------------------------------------------------------------------

NASTY_VALUES: list[Callable[[], Any]] = [
    lambda: None,
    lambda: True,
    lambda: False,
    lambda: 0,
    lambda: -1,
    lambda: 2**64,
    lambda: 10**399,
    lambda: 1e308,
    lambda: -1e308,
    lambda: 5e-324,
    lambda: -0.0,
    lambda: math.nan,
    lambda: math.inf,
    lambda: -math.inf,
    lambda: "",
    lambda: " ",
    lambda: "x" * 200_000,
    lambda: "\x00\x1b[2J\x1b]0;pwned\x07",
    lambda: "\u202e\u2066evil\u2069\u200b\ufeff",
    lambda: "\ud800",
    lambda: "line\n::error::pwned\r\n::set-output name=x::1",
    lambda: "<script>alert(1)</script>{{ 7*7 }}{% raw %}",
    lambda: "e\u0301\u0301\u0301\u0301 👩‍👩‍👧‍👦 \U0010ffff",
    lambda: "NaN",
    lambda: "1e999",
    lambda: "true",
    lambda: [],
    lambda: {},
    lambda: [1, "a", None, [2.5]],
    lambda: {"a": {"b": {"c": [1, {"d": None}]}}},
    lambda: _deep(200),
    lambda: _deep(3000),
    lambda: list(range(5000)),
    lambda: {f"k{i}": i for i in range(3000)},
]


RAW_SENTINEL = "\x00raw\x00"
RAW_JSON = [
    b"[" * 900 + b"1" + b"]" * 900,
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 3000 + b"1" + b"}" * 3000,
    b"1e999",
    b"-1e999",
    b"1" + b"0" * 5000,
    b"1E400",
    b"4.9e-325",
    b"NaN",
    b"-Infinity",
    b'"\\ud800\\udc00\\udfff"',
    b'"\\u0000"',
]


def _deep(depth: int) -> Any:
    value: Any = 1
    for i in range(depth):
        value = [value] if i % 2 else {"d": value}
    return value


def _nodes(
    value: Any, path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], Any]]:
    stack = [(path, value)]
    seen: set[int] = set()
    count = 0
    while stack and count < 50_000:  # a shared (aliased) node is walked once
        where, node = stack.pop()
        yield where, node
        count += 1
        if id(node) in seen:
            continue
        if isinstance(node, dict | list):
            seen.add(id(node))
        if isinstance(node, dict):
            stack.extend(((*where, k), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend(((*where, i), v) for i, v in enumerate(node))


def _set(root: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = root
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return root


def mutate_tree(rng: random.Random, data: Any, log: list[str]) -> Any:
    """Change, delete, duplicate or retype one node of parsed JSON/YAML data."""
    nodes = list(_nodes(data))
    records = [(p, n) for p, n in nodes if isinstance(n, dict) and _is_record(n)]
    if records and rng.random() < 0.4:
        return _mutate_field(rng, data, records, log)
    path, node = rng.choice(nodes)
    choice = rng.randrange(5)
    if choice == 0 and path and isinstance(_get(data, path[:-1]), dict):
        parent = _get(data, path[:-1])
        del parent[path[-1]]
        log.append(f"delete {_show_path(path)}")
        return data
    if choice == 1 and isinstance(node, list) and node:
        node.extend(node[: rng.randint(1, min(3, len(node)))])
        log.append(f"duplicate items of {_show_path(path)}")
        return data
    if choice == 2 and isinstance(node, dict):
        key = rng.choice(
            ["id", "metrics", "output", "samples", "results", "run", "name"]
        )
        index = rng.randrange(len(NASTY_VALUES))
        node[key] = NASTY_VALUES[index]()
        log.append(f"set {_show_path((*path, key))} = nasty[{index}]")
        return data
    if (
        choice == 3
        and isinstance(node, str | int | float)
        and not isinstance(node, bool)
    ):
        text = str(node)
        swapped: Any = text if not isinstance(node, str) else _number_or_text(rng, text)
        log.append(
            f"retype {_show_path(path)} {type(node).__name__}->{type(swapped).__name__}"
        )
        return _set(data, path, swapped)
    index = rng.randrange(len(NASTY_VALUES))
    log.append(f"replace {_show_path(path)} with nasty[{index}]")
    return _set(data, path, NASTY_VALUES[index]())


RECORD_KEYS = (
    "id",
    "doc_id",
    "sample_id",
    "metrics",
    "scores",
    "output",
    "input",
    "response",
    "gradingResult",
    "testCase",
    "columns",
    "results",
    "eval",
)
FIELDS = (
    "id",
    "output",
    "input",
    "expected",
    "slices",
    "group",
    "meta",
    "steps",
    "metrics",
    "metrics.exact_match",
    "metrics.latency_ms",
    "metrics.<new>",
    "steps.0.name",
    "steps.0.output",
    "steps.0.metrics",
    # lm-eval samples, Inspect samples, promptfoo rows, MLflow tables
    "doc_id",
    "filtered_resps",
    "resps",
    "target",
    "arguments",
    "exact_match",
    "scores",
    "epoch",
    "score",
    "success",
    "latencyMs",
    "cost",
    "namedScores",
    "promptIdx",
    "testIdx",
    "vars",
    "failureReason",
    "provider",
    "response.output",
    "gradingResult.componentResults",
    "columns",
    "data",
    "status",
    "samples",
    "results",
)


def _is_record(node: dict[str, Any]) -> bool:
    return any(key in node for key in RECORD_KEYS)


def _mutate_field(
    rng: random.Random,
    data: Any,
    records: list[tuple[tuple[Any, ...], Any]],
    log: list[str],
) -> Any:
    """Set one field of one datapoint-like mapping to a nasty value (still well-formed)."""
    path, record = rng.choice(records)
    name = rng.choice(FIELDS)
    index = rng.randrange(len(NASTY_VALUES))
    value = NASTY_VALUES[index]()
    target = record
    parts = name.split(".")
    for part in parts[:-1]:
        if part.isdigit() and isinstance(target, list) and target:
            target = target[0]
        elif isinstance(target, dict):
            if not isinstance(target.get(part), dict | list):
                target[part] = {} if part != "steps" else [{}]
            target = target[part]
        else:
            break
    last = parts[-1]
    if isinstance(target, dict):
        key = "m-" + str(rng.randrange(99)) if last == "<new>" else last
        target[key] = value
    log.append(f"field {_show_path(path)}.{name} = nasty[{index}]")
    return data


def _number_or_text(rng: random.Random, text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return rng.choice([len(text), -len(text), text * 3])


def _get(root: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        root = root[key]
    return root


def _show_path(path: tuple[Any, ...]) -> str:
    text = "".join(f"[{k!r}]" for k in path)
    return text[:120] or "(root)"


BYTE_INSERTS = [
    b"\xff\xfe",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\x00",
    b"\r",
    b"\n",
    b"\x1b[31m",
    b'"',
    b"{",
    b"]",
    b",",
    b"9" * 500,
    b"1e999",
    b"-1e-400",
    b"NaN",
    b"Infinity",
    b"\\ud800",
    b"[" * 5000,
    "\u2028\u202e".encode(),
]


def mutate_bytes(rng: random.Random, data: bytes, log: list[str]) -> bytes:
    """Flip, insert, delete, duplicate or truncate bytes."""
    if not data:
        log.append("insert into empty")
        return rng.choice(BYTE_INSERTS)
    choice = rng.randrange(5)
    at = rng.randrange(len(data))
    if choice == 0:
        count = rng.randint(1, 8)
        buf = bytearray(data)
        spots = [rng.randrange(len(data)) for _ in range(count)]
        for spot in spots:
            buf[spot] = rng.randrange(256)
        log.append(f"flip {count} bytes at {spots[:3]}")
        return bytes(buf)
    if choice == 1:
        index = rng.randrange(len(BYTE_INSERTS))
        log.append(f"insert bytes[{index}] at {at}")
        return data[:at] + BYTE_INSERTS[index] + data[at:]
    if choice == 2:
        size = rng.randint(1, max(1, len(data) // 10))
        log.append(f"delete {size} bytes at {at}")
        return data[:at] + data[at + size :]
    if choice == 3:
        size = rng.randint(1, max(1, min(len(data), 4096)))
        log.append(f"duplicate {size} bytes at {at}")
        return data[:at] + data[at : at + size] + data[at:]
    log.append(f"truncate at {at}")
    return data[:at]


YAML_INJECTIONS = [
    b"bomb: &a0 [x, x, x, x, x, x, x, x, x]\n"
    + b"".join(
        f"b{i}: &a{i} [".encode() + b", ".join([f"*a{i - 1}".encode()] * 9) + b"]\n"
        for i in range(1, 9)
    ),
    b"loop: &l [*l]\n",
    b"name: dup\nname: again\n",
    b"x: !!python/object/apply:os.system [echo]\n",
    b"x: !!binary aGVsbG8=\n",
    b"x: 1" + b"0" * 5000 + b"\n",
    b"x: " + b"[" * 2000 + b"]" * 2000 + b"\n",
    b"--- \n--- \n",
    b"%YAML 1.1\n---\n",
    b"? [a, b]\n: 1\n",
    b"x: 2026-02-30\nid: 010\nflag: no\n",
]


def mutate_yaml_text(rng: random.Random, data: bytes, log: list[str]) -> bytes:
    """Add a YAML hazard at the top level: an alias bomb, a duplicate key, a tag..."""
    index = rng.randrange(len(YAML_INJECTIONS))
    log.append(f"yaml injection[{index}]")
    if rng.random() < 0.5:
        return YAML_INJECTIONS[index] + data
    return data + b"\n" + YAML_INJECTIONS[index]


def _structured(rng: random.Random, kind: str, data: bytes, log: list[str]) -> bytes:
    if kind in ("json", "jsonl"):
        if kind == "jsonl":
            lines = data.split(b"\n")
            filled = [i for i, line in enumerate(lines) if line.strip()]
            if not filled:
                return data
            i = rng.choice(filled)
            log.append(f"line {i + 1}:")
            lines[i] = _structured(rng, "json", lines[i], log)
            return b"\n".join(lines)
        try:
            tree = json.loads(data)
        except (ValueError, RecursionError):
            return mutate_bytes(rng, data, log)
        if rng.random() < 0.25:
            tree = _raw_slot(rng, tree, log)
        else:
            tree = mutate_tree(rng, tree, log)
        return _dump_json(tree)
    if kind in ("yaml", "gates"):
        if rng.random() < 0.3:
            return mutate_yaml_text(rng, data, log)
        try:
            tree = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except (yaml.YAMLError, RecursionError, ValueError):
            return mutate_bytes(rng, data, log)
        tree = mutate_tree(rng, tree, log)
        try:
            dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
            text = yaml.dump(tree, Dumper=dumper, allow_unicode=True)
            return text.encode("utf-8", "surrogatepass")
        except (yaml.YAMLError, RecursionError, ValueError):
            return data
    return mutate_bytes(rng, data, log)


def _raw_slot(rng: random.Random, tree: Any, log: list[str]) -> Any:
    """Mark one node to be replaced by raw JSON text no ``json.dumps`` would write."""
    path, _ = rng.choice(list(_nodes(tree)))
    index = rng.randrange(len(RAW_JSON))
    log.append(f"raw {_show_path(path)} = raw[{index}]")
    return _set(tree, path, f"{RAW_SENTINEL}{index}")


def _dump_json(tree: Any) -> bytes:
    try:
        text = json.dumps(tree).encode()
    except (ValueError, RecursionError):
        return b"[" * 100_000  # nested past any parser's depth
    marker = json.dumps(RAW_SENTINEL).encode()[:-1]
    for index, raw in enumerate(RAW_JSON):
        text = text.replace(marker + str(index).encode() + b'"', raw)
    return text


def _mutate_zip(rng: random.Random, data: bytes, log: list[str]) -> bytes:
    if rng.random() < 0.25:
        return mutate_bytes(rng, data, log)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [(info, archive.read(info)) for info in archive.infolist()]
    except Exception:  # an earlier round broke the archive (bad zip, CRC, zlib)
        return mutate_bytes(rng, data, log)
    if not members:
        return mutate_bytes(rng, data, log)
    index = rng.randrange(len(members))
    info, content = members[index]
    log.append(f"member {info.filename}:")
    kind = "json" if info.filename.endswith(".json") else "bytes"
    if rng.random() < 0.1:
        log.append("drop it")
        members.pop(index)
    else:
        members[index] = (info, _structured(rng, kind, content, log))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, body in members:
            archive.writestr(member.filename, body)
    return out.getvalue()


def mutate_seed(
    rng: random.Random, seed: Seed, rounds: int, log: list[str]
) -> dict[str, bytes]:
    """``rounds`` mutations of the seed's files (one file chosen per round)."""
    files = dict(seed.files)
    for _ in range(rounds):
        name = rng.choice(sorted(files))
        if seed.kind == "gates" and not name.endswith(".yaml"):
            name = "runcompare.yaml"
        kind = seed.kind if seed.kind not in ("dir",) else _kind_of(name)
        log.append(f"{name}:")
        if kind == "zip":
            files[name] = _mutate_zip(rng, files[name], log)
        elif rng.random() < 0.65:
            files[name] = _structured(rng, kind, files[name], log)
        else:
            files[name] = mutate_bytes(rng, files[name], log)
    return files


def _kind_of(name: str) -> str:
    for suffix, kind in ((".jsonl", "jsonl"), (".json", "json"), (".yaml", "yaml")):
        if name.endswith(suffix):
            return kind
    return "bytes"


def write_files(base: Path, files: dict[str, bytes]) -> None:
    """Lay the case's files out under ``base``."""
    for name, content in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


# --- the oracle --------------------------------------------------------------------


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`CaseTimeout` in the main thread after ``seconds``."""

    def _expired(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "pytest_runcompare" in f.filename]
    frame = (ours or frames or [None])[-1]
    if frame is None:
        return "?"
    name = frame.filename.split("pytest_runcompare/")[-1]
    return (
        f"pytest_runcompare/{name}:{frame.lineno}" if ours else f"{name}:{frame.lineno}"
    )


def _bug(recipe: str, error: BaseException) -> Outcome:
    text = " ".join(str(error).split())[:300]
    return Outcome("bug", recipe, f"{type(error).__name__}: {text}", _where(error))


def _laundered(recipe: str, error: BaseException) -> Outcome | None:
    """A reader's bug behind a generic message: a clear error raised from another one.

    ``load_run`` turns a reader's ``KeyError`` or ``TypeError`` into "could not be read
    (...)"; the cause, unless it is a clear error or an OS error, is the bug.
    """
    from pytest_runcompare.errors import RunCompareError

    cause = error.__cause__
    while isinstance(cause, RunCompareError) and cause.__cause__ is not None:
        cause = cause.__cause__
    if cause is None or isinstance(cause, RunCompareError | OSError):
        return None
    text = " ".join(str(cause).split())[:200]
    return Outcome(
        "bug",
        recipe,
        f"{type(cause).__name__} behind {type(error).__name__}: {text}",
        _where(cause),
    )


def _names_file(message: str, base: Path, files: dict[str, bytes]) -> bool:
    return str(base) in message or any(Path(n).name in message for n in files)


def check_load(
    target: str, base: Path, files: dict[str, bytes], recipe: str
) -> tuple[Outcome, Any]:
    """Load one input: a run, or a :class:`RunCompareError` naming the file."""
    from pytest_runcompare import load_run
    from pytest_runcompare.errors import RunCompareError

    try:
        run = load_run(str(base / target))
    except RunCompareError as error:
        laundered = _laundered(recipe, error)
        if laundered is not None:
            return laundered, None
        if not _names_file(str(error), base, files):
            return Outcome(
                "bug", recipe, f"error names no file: {error}"[:300], _where(error)
            ), None
        return Outcome("clear", recipe, f"{type(error).__name__}: {error}"[:300]), None
    except CaseTimeout as error:
        return Outcome("bug", recipe, f"hang: {error}", _where(error)), None
    except Exception as error:  # the oracle: nothing else may escape
        return _bug(recipe, error), None
    return Outcome("ok", recipe, f"{len(run)} datapoints"), run


def check_compare(
    baseline: str, candidate: str, out: Path, recipe: str, config: str | None = None
) -> Outcome:
    """Run ``runcompare compare`` in process with every report: a verdict or a clear error."""
    from pytest_runcompare import cli
    from pytest_runcompare.errors import RunCompareError

    out.mkdir(parents=True, exist_ok=True)
    argv = ["compare", baseline, candidate]
    argv += ["--html", str(out / "r.html"), "--markdown", str(out / "r.md")]
    argv += ["--json", str(out / "r.json")]
    if config is not None:
        argv += ["--config", config]
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        args = cli._parser().parse_args(argv)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = cli.run_compare(args)
    except (RunCompareError, OSError) as error:
        laundered = _laundered(recipe, error)
        if laundered is not None:
            return laundered
        return Outcome("clear", recipe, f"{type(error).__name__}: {error}"[:300])
    except CaseTimeout as error:
        return Outcome("bug", recipe, f"hang: {error}", _where(error))
    except Exception as error:
        return _bug(recipe, error)
    if code not in (0, 1):
        return Outcome("bug", recipe, f"exit code {code}")
    try:
        json.loads((out / "r.json").read_text())
    except (OSError, ValueError) as error:
        return Outcome("bug", recipe, f"JSON report unreadable: {error}"[:300])
    for name in ("r.html", "r.md"):
        if not (out / name).is_file():
            return Outcome("bug", recipe, f"{name} not written")
    return Outcome("ok", recipe, f"exit {code}")


def check_cli_process(argv: list[str], recipe: str) -> Outcome:
    """The real ``runcompare`` on a bad input: exit 2, one line on stderr, no traceback."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "pytest_runcompare.cli", *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    lines = done.stderr.splitlines()
    if done.returncode != 2 or len(lines) != 1 or "Traceback" in done.stderr:
        text = " | ".join(lines[-3:])[:300]
        return Outcome(
            "bug", recipe, f"CLI exit {done.returncode}, stderr: {text}", "cli"
        )
    if "unexpected error" in lines[0]:
        return Outcome("bug", recipe, f"CLI: {lines[0][:300]}", "cli")
    return Outcome("clear", recipe, lines[0][:300])


def check_gates(path: Path, recipe: str) -> tuple[Outcome, Any]:
    """Read a gates file: a config, or a :class:`ConfigError` naming the file."""
    from pytest_runcompare.config import load_gates_file
    from pytest_runcompare.errors import RunCompareError

    try:
        config = load_gates_file(path)
    except RunCompareError as error:
        laundered = _laundered(recipe, error)
        if laundered is not None:
            return laundered, None
        if str(path) not in str(error):
            return Outcome(
                "bug", recipe, f"error names no file: {error}"[:300], _where(error)
            ), None
        return Outcome("clear", recipe, str(error)[:300]), None
    except CaseTimeout as error:
        return Outcome("bug", recipe, f"hang: {error}", _where(error)), None
    except Exception as error:
        return _bug(recipe, error), None
    return Outcome("ok", recipe, f"{len(config.gates)} gates"), config


# --- a case ------------------------------------------------------------------------


@dataclass
class CaseResult:
    """The outcomes of one case (a load of each mutated run, then the comparison)."""

    index: int
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def bugs(self) -> list[Outcome]:
        """The outcomes that break the oracle."""
        return [o for o in self.outcomes if o.status == "bug"]


def all_seeds() -> list[Seed]:
    """Runs first, then gates files: a case index picks one of these."""
    return [*run_seeds(), *gates_seeds()]


def run_case(
    seed_value: int, index: int, work: Path, *, timeout: float = 20.0
) -> CaseResult:
    """Case ``index`` of campaign ``seed_value``: mutate, load, compare, check."""
    rng = random.Random(f"{seed_value}:{index}")
    seeds = all_seeds()
    seed = seeds[index % len(seeds)]
    result = CaseResult(index)
    name = f"--seed {seed_value} --case {index} ({seed.name})"
    work.mkdir(parents=True, exist_ok=True)
    if seed.kind == "gates":
        log: list[str] = []
        files = mutate_seed(rng, seed, rng.randint(1, 3), log)
        base = work / "gates"
        write_files(base, files)
        recipe = f"{name}: {' '.join(log)}"
        with time_limit(timeout):
            outcome, config = check_gates(base / seed.target, recipe)
        result.outcomes.append(outcome)
        if config is not None:
            with time_limit(timeout):
                result.outcomes.append(
                    check_compare(
                        str(base / "runs/baseline.jsonl"),
                        str(base / "runs/candidate.jsonl"),
                        base / "out",
                        recipe + " | compare",
                        config=str(base / seed.target),
                    )
                )
        return result
    targets = []
    for side in ("a", "b"):
        log = []
        rounds = rng.randint(1, 3) if side == "a" or rng.random() < 0.5 else 0
        files = mutate_seed(rng, seed, rounds, log)
        base = work / side
        write_files(base, files)
        recipe = f"{name} side {side}: {' '.join(log) or 'unchanged'}"
        with time_limit(timeout):
            outcome, run = check_load(seed.target, base, files, recipe)
        result.outcomes.append(outcome)
        if run is not None:
            targets.append((str(base / seed.target), run))
        elif outcome.status == "clear" and rng.random() < 0.05:
            path = str(base / seed.target)
            result.outcomes.append(
                check_cli_process(["compare", path, path], recipe + " | runcompare CLI")
            )
    if len(targets) == 2:
        gates = work / "gates.yaml"
        gates.write_text(
            _gates_for(targets[0][1]), encoding="utf-8", errors="surrogatepass"
        )
        with time_limit(timeout):
            result.outcomes.append(
                check_compare(
                    targets[0][0],
                    targets[1][0],
                    work / "out",
                    f"{name} | compare side a vs side b",
                    config=str(gates) if targets[0][1].metric_names else None,
                )
            )
    return result


def _gates_for(run: Any) -> str:
    """A gates file (JSON is YAML) gating every metric of ``run``, whatever its name."""
    metrics = {
        name: {"direction": "higher", "mode": "regression_detection", "slices": "all"}
        for name in list(run.metric_names)[:20]
    }
    return json.dumps({"metrics": metrics, "report": {"max_outputs": 50}})
