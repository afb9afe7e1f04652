"""Safe YAML for run and gates files: the YAML 1.2 core schema, bounded and strict.

PyYAML reads YAML 1.1, where ``010`` is 8, ``1:30`` is 90, ``1_000`` is 1000 and ``no``
is false; a run's ids and outputs must keep the text they were written as. This loader
resolves plain scalars with the YAML 1.2 core schema only (``true``/``false``,
``null``/``~``, decimal, ``0o`` and ``0x`` integers, floats with ``.inf``/``.nan``;
everything else is a string), keeps the written text of numbers under the keys that
hold names (:data:`TEXT_KEYS`), refuses duplicate keys (naming both lines), recursive
aliases and documents whose aliases expand past :data:`limits.YAML_NODES`, and
constructs no object beyond mappings, lists, strings, numbers, booleans and null.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from pytest_runcompare import limits
from pytest_runcompare.errors import RunFormatError

#: Keys whose values are names (datapoint ids, groups): a number written there stays as
#: written, ``id: 010`` is ``"010"``, not 10; ``ids: [0x1F]`` is ``["0x1F"]``. Outputs
#: may be any JSON value, so a number there stays a number (``output: no`` is "no").
TEXT_KEYS: Final = frozenset({"id", "ids", "group"})

_STR: Final = "tag:yaml.org,2002:str"
_INT: Final = "tag:yaml.org,2002:int"
_FLOAT: Final = "tag:yaml.org,2002:float"
_BOOL: Final = "tag:yaml.org,2002:bool"
_NULL: Final = "tag:yaml.org,2002:null"
_SEQ: Final = "tag:yaml.org,2002:seq"
_MAP: Final = "tag:yaml.org,2002:map"

# YAML 1.2.2 §10.3.2, the core schema's tag resolution, in the order PyYAML tries them
# (first match wins, so integers come before floats).
_CORE_RESOLVERS: Final = (
    (_NULL, r"^(?:~|null|Null|NULL|)$", "~nN"),
    (_BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (_INT, r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        _FLOAT,
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
)
_INFINITY: Final = re.compile(r"^([-+]?)\.(?:inf|Inf|INF)$")
_NAN: Final = re.compile(r"^\.(?:nan|NaN|NAN)$")


def _mark_line(mark: Any) -> int | None:
    return None if mark is None else int(mark.line) + 1


@functools.cache
def loader_class() -> Any:
    """The loader: libyaml's parser when present, the core schema, our constructors."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class CoreLoader(base):  # type: ignore[misc, valid-type]
        yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 (PyYAML's table)
        yaml_constructors: dict[Any, Any] = {}  # noqa: RUF012 (PyYAML's table)
        yaml_multi_constructors: dict[Any, Any] = {}  # noqa: RUF012 (PyYAML's table)
        path: Path | None = None

        def refuse(self, node: Any, message: str, hint: str | None = None) -> Any:
            return RunFormatError(
                message, path=self.path, line=_mark_line(node.start_mark), hint=hint
            )

        def construct_core_int(self, node: Any) -> int:
            text = str(self.construct_scalar(node))
            _check_digits(self, node, text)
            try:
                if text.startswith("0o"):
                    return int(text[2:], 8)
                if text.startswith("0x"):
                    return int(text[2:], 16)
                return int(text, 10)
            except ValueError:
                raise self.refuse(node, f"not a YAML integer: {text!r}") from None

        def construct_core_float(self, node: Any) -> float:
            text = str(self.construct_scalar(node))
            _check_digits(self, node, text)
            infinity = _INFINITY.match(text)
            if infinity is not None:
                return -math.inf if infinity.group(1) == "-" else math.inf
            if _NAN.match(text):
                return math.nan
            try:
                return float(text)
            except ValueError:
                raise self.refuse(node, f"not a YAML float: {text!r}") from None

        def construct_core_bool(self, node: Any) -> bool:
            text = str(self.construct_scalar(node))
            if text.lower() not in ("true", "false"):
                raise self.refuse(node, f"not a YAML boolean: {text!r}", "true, false")
            return text.lower() == "true"

        def construct_core_null(self, node: Any) -> None:
            self.construct_scalar(node)

        def construct_core_map(self, node: Any) -> Iterator[dict[Any, Any]]:
            data: dict[Any, Any] = {}
            yield data
            data.update(self.construct_mapping(node))

        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            """A mapping whose keys are unique; numbers under :data:`TEXT_KEYS` as text."""
            if not isinstance(node, yaml.MappingNode):
                raise self.refuse(node, f"expected a mapping, found {node.id}")
            mapping: dict[Any, Any] = {}
            first: dict[Any, int | None] = {}
            for key_node, value_node in node.value:
                key = self.construct_object(key_node, deep=deep)
                line = _mark_line(key_node.start_mark)
                try:
                    seen = key in mapping
                except TypeError:
                    raise self.refuse(
                        key_node,
                        "a mapping key must be a string or a number, found a "
                        f"{type(key).__name__}",
                    ) from None
                if seen:
                    raise self.refuse(
                        key_node,
                        f"duplicate key {key!r} (first at line {first[key]}, again at "
                        f"line {line})",
                        "the second would silently replace the first: keep one",
                    )
                first[key] = line
                if isinstance(key, str) and key in TEXT_KEYS:
                    mapping[key] = self.construct_text(value_node, deep)
                else:
                    mapping[key] = self.construct_object(value_node, deep=deep)
            return mapping

        def construct_text(self, node: Any, deep: bool) -> Any:
            """A value that holds text: a plain number keeps the text it was written as."""
            if isinstance(node, yaml.ScalarNode) and node.tag in (_INT, _FLOAT):
                return str(node.value)
            if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
                return [self.construct_text(item, deep) for item in node.value]
            return self.construct_object(node, deep=deep)

        def construct_refused(self, node: Any) -> Any:
            raise self.refuse(
                node,
                f"YAML tag not allowed: {node.tag}",
                "run and gates files are plain data: use mappings, lists, strings and "
                "numbers",
            )

    for tag, pattern, first in _CORE_RESOLVERS:
        starts = [*first, ""] if tag == _NULL else list(first)
        CoreLoader.add_implicit_resolver(tag, re.compile(pattern), starts)
    CoreLoader.add_constructor(_STR, base.construct_yaml_str)
    CoreLoader.add_constructor(_SEQ, base.construct_yaml_seq)
    CoreLoader.add_constructor(_MAP, CoreLoader.construct_core_map)
    CoreLoader.add_constructor(_INT, CoreLoader.construct_core_int)
    CoreLoader.add_constructor(_FLOAT, CoreLoader.construct_core_float)
    CoreLoader.add_constructor(_BOOL, CoreLoader.construct_core_bool)
    CoreLoader.add_constructor(_NULL, CoreLoader.construct_core_null)
    CoreLoader.add_constructor(None, CoreLoader.construct_refused)
    return CoreLoader


def _check_digits(loader: Any, node: Any, text: str) -> None:
    digits = sum(c.isdigit() for c in text)
    if digits > limits.NUMBER_DIGITS.value:
        raise loader.refuse(node, limits.NUMBER_DIGITS.exceeded(digits))


def _children(node: Any) -> list[Any]:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    return []


def _check_expansion(root: Any, path: Path | None) -> None:
    """Refuse recursive aliases and aliases that expand past ``limits.YAML_NODES``.

    Sizes are counted once per distinct node (an alias shares its anchor's node), so
    the count costs as much as the text itself, however large the expansion.
    """
    limit = limits.YAML_NODES.value
    size: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        key = id(node)
        if leaving:
            total = 1 + sum(size[id(child)] for child in _children(node))
            size[key] = min(total, limit + 1)
            entered.discard(key)
            continue
        if key in size:
            continue
        if key in entered:
            raise RunFormatError(
                "a YAML alias refers to a node that contains it (a recursive "
                "structure)",
                path=path,
                line=_mark_line(node.start_mark),
                hint="run and gates files are trees: write the value out",
            )
        entered.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))
    expanded = size[id(root)]
    if expanded > len(size) and expanded > limit:
        seen = f"at least {expanded:,}" if expanded > limit else f"{expanded:,}"
        raise RunFormatError(
            f"its aliases expand too far: {limits.YAML_NODES.exceeded(seen)}",
            path=path,
            line=_mark_line(root.start_mark),
        )


def _yaml_error(error: Exception, path: Path | None) -> RunFormatError:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    return RunFormatError(
        f"malformed YAML: {problem}", path=path, line=_mark_line(mark)
    )


def compose(text: str, path: Path | None = None) -> Any:
    """The document's node graph (None for an empty document), checked for expansion."""
    import yaml

    loader = loader_class()(text)
    loader.path = path
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as error:
        raise _yaml_error(error, path) from None
    finally:
        loader.dispose()
    if node is not None:
        _check_expansion(node, path)
    return node


def construct(node: Any, path: Path | None = None) -> Any:
    """The plain data of a node graph from :func:`compose`."""
    import yaml

    if node is None:
        return None
    loader = loader_class()("")
    loader.path = path
    try:
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise _yaml_error(error, path) from None
    except RecursionError:
        raise RunFormatError("YAML nested too deeply", path=path) from None


def load(text: str, path: Path | None = None) -> Any:
    """Parse one YAML document into plain data, or raise :class:`RunFormatError`."""
    return construct(compose(text, path), path)


@functools.cache
def dumper_class() -> Any:
    """A safe dumper quoting every string that YAML 1.1 or 1.2 would read as another type.

    ``"089"``, ``"1e5"`` and ``"0o7"`` are numbers in YAML 1.2 only; ``"no"`` in 1.1.
    """
    import yaml

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class CoreDumper(base):  # type: ignore[misc, valid-type]
        yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 (PyYAML's table)

    for first, entries in yaml.resolver.Resolver.yaml_implicit_resolvers.items():
        for tag, regexp in entries:
            CoreDumper.add_implicit_resolver(tag, regexp, [first])
    for tag, pattern, starts in _CORE_RESOLVERS:
        chars = [*starts, ""] if tag == _NULL else list(starts)
        CoreDumper.add_implicit_resolver(tag, re.compile(pattern), chars)
    return CoreDumper


def dump(data: Any) -> str:
    """``data`` as YAML that :func:`load` reads back as the same values."""
    import yaml

    return str(
        yaml.dump(data, Dumper=dumper_class(), sort_keys=False, allow_unicode=True)
    )
