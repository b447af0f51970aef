"""YAML loading that remembers where every value came from.

Config and rules files are parsed once, at the edge, into strict models. When
something is wrong the user should see every problem as ``file:line:column:
message``, so this module keeps a map from each key path to its position and
turns pydantic's errors into located messages. It also refuses pathological
input (huge files, alias bombs, duplicate keys) before it can hurt.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

MAX_BYTES = 1_000_000
MAX_ALIASES = 200
MAX_DEPTH = 40

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Problem:
    line: int  # 1-based
    column: int  # 1-based
    message: str
    file: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class YamlProblems(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


@dataclass
class Located:
    data: Any
    positions: dict[Path_, tuple[int, int]]  # key path -> (line, column) of its value
    key_positions: dict[Path_, tuple[int, int]]  # key path -> position of the key itself
    file: str

    def where(self, path: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """The closest known position for a path (walking up to its parent if needed)."""
        table = self.key_positions if key else self.positions
        probe: Path_ = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return self.positions.get((), (1, 1))

    def problem(self, path: Sequence[str | int], message: str, *, key: bool = False) -> Problem:
        line, column = self.where(path, key=key)
        return Problem(line, column, message, self.file)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _walk(node: yaml.Node, path: Path_, out: Located, problems: list[Problem], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise YamlProblems([Problem(*_mark(node), "nesting is too deep", out.file)])
    out.positions[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem(*_mark(key_node), "keys must be plain names", out.file))
                continue
            key = key_node.value
            if key == "<<":
                problems.append(Problem(*_mark(key_node), "merge keys (<<) are not supported",
                                        out.file))
                continue
            if key in result:
                problems.append(Problem(*_mark(key_node), f"duplicate key '{key}'", out.file))
                continue
            out.key_positions[(*path, key)] = _mark(key_node)
            result[key] = _walk(value_node, (*path, key), out, problems, depth + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _walk(item, (*path, i), out, problems, depth + 1) for i, item in enumerate(node.value)
        ]
    constructor = yaml.SafeLoader(node.value if isinstance(node.value, str) else "")
    try:
        return constructor.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        problems.append(Problem(*_mark(node), f"bad value: {exc}", out.file))
        return None
    finally:
        constructor.dispose()


class _CountingLoader(yaml.SafeLoader):
    """Counts aliases while composing, so an alias bomb is refused before it expands."""

    aliases_seen = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases_seen += 1
            if self.aliases_seen > MAX_ALIASES:
                event = self.peek_event()
                raise yaml.YAMLError(
                    f"line {event.start_mark.line + 1}: more than {MAX_ALIASES} aliases; "
                    "refusing what looks like an alias bomb"
                )
        return super().compose_node(parent, index)


def load_text(text: str, file: str) -> Located:
    """Parse YAML text into data plus positions; raises YamlProblems."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise YamlProblems([Problem(1, 1, f"file is larger than {MAX_BYTES // 1000} kB; "
                                          "a rules or config file never needs to be", file)])
    loader = _CountingLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        detail = exc.problem or str(exc)
        if "\t" in text and "tab" in str(exc).lower() or "found character '\\t'" in str(exc):
            detail = "tab characters cannot indent YAML; use spaces"
        raise YamlProblems([Problem(line, column, f"not valid YAML: {detail}", file)]) from None
    except yaml.YAMLError as exc:
        raise YamlProblems([Problem(1, 1, f"not valid YAML: {exc}", file)]) from None
    finally:
        loader.dispose()
    located = Located({}, {}, {}, file)
    if node is None:
        return located
    problems: list[Problem] = []
    located.data = _walk(node, (), located, problems, 0)
    if problems:
        raise YamlProblems(sorted(problems))
    return located


def load_file(path: Path) -> Located:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise YamlProblems([Problem(1, 1, f"cannot read: {exc.strerror}", str(path))]) from None
    if size > MAX_BYTES:
        raise YamlProblems([Problem(1, 1, f"file is {size / 1e6:.1f} MB; the limit is "
                                          f"{MAX_BYTES // 1000} kB", str(path))])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlProblems([Problem(1, 1, f"not UTF-8 text: {exc.reason}", str(path))]) from None
    return load_text(text, str(path))


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _allowed_keys(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The field names allowed at ``loc`` inside ``model`` (for did-you-mean)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        annotation = fields[part].annotation
        current = _model_in(annotation)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def validation_problems(
    exc: ValidationError, located: Located, model: type[BaseModel]
) -> list[Problem]:
    """Every pydantic error as a located, readable problem."""
    problems: list[Problem] = []
    for error in exc.errors():
        loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        # pydantic puts union/tagged tags in loc; keep only path parts that exist in the data
        loc = [p for p in loc if not (isinstance(p, str) and "[" in p)]
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        kind = error["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            hint = _suggest(key, _allowed_keys(model, loc[:-1]))
            problems.append(located.problem(loc, f"unknown key '{dotted}'{hint}", key=True))
            continue
        message = error["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        if kind == "missing":
            problems.append(located.problem(loc[:-1], f"'{dotted}' is required"))
            continue
        problems.append(located.problem(loc, f"{dotted}: {message}"))
    return sorted(set(problems))
