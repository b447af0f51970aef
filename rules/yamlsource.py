"""YAML loading that remembers where every value came from.

Config and rules files are parsed once, at the edge, into strict models. When
something is wrong the user should see every problem as ``file:line:column:
message``, so this module keeps a map from each key path to its position and
turns pydantic's errors into located messages. It also refuses pathological
input (huge files, alias bombs, duplicate keys) before it can hurt.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

MAX_BYTES = 1_000_000
MAX_ALIASES = 200
MAX_DEPTH = 40
#: Most values a file may expand to once aliases are followed. A billion-laughs
#: bomb composes into a tiny graph and only explodes when walked; this stops it.
MAX_NODES = 200_000

# libyaml composes about ten times faster than the pure-Python parser, which keeps
# a file near the size limit well under a second.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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


@dataclass
class _Budget:
    """What walking the node graph may still spend; aliases are the expensive part."""

    nodes: int = MAX_NODES
    aliases: int = MAX_ALIASES
    seen: set[int] = field(default_factory=set)
    scalars: yaml.constructor.SafeConstructor = field(
        default_factory=yaml.constructor.SafeConstructor
    )

    def spend(self, node: yaml.Node, file: str) -> None:
        self.nodes -= 1
        if self.nodes < 0:
            raise YamlProblems([Problem(*_mark(node), f"more than {MAX_NODES} values once "
                                        "aliases are expanded; refusing what looks like a YAML "
                                        "bomb", file)])
        if isinstance(node, yaml.ScalarNode):
            return
        if id(node) in self.seen:  # a collection reached a second time is an alias use
            self.aliases -= 1
            if self.aliases < 0:
                raise YamlProblems([Problem(*_mark(node), f"more than {MAX_ALIASES} aliases; "
                                            "refusing what looks like a YAML bomb", file)])
        self.seen.add(id(node))


def _walk(
    node: yaml.Node, path: Path_, out: Located, problems: list[Problem], depth: int,
    budget: _Budget,
) -> Any:
    if depth > MAX_DEPTH:
        raise YamlProblems([Problem(*_mark(node), "nesting is too deep (or an alias refers "
                                    "to itself)", out.file)])
    budget.spend(node, out.file)
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
            result[key] = _walk(value_node, (*path, key), out, problems, depth + 1, budget)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _walk(item, (*path, i), out, problems, depth + 1, budget)
            for i, item in enumerate(node.value)
        ]
    try:
        return budget.scalars.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError) as exc:
        detail = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(*_mark(node), f"bad value: {detail}", out.file))
        return None


def _tab_at(text: str, line: int, column: int) -> bool:
    """Whether a parse error sits on a tab used for indentation."""
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return False
    return "\t" in lines[line - 1][: max(column, 1)] or "\t" in lines[line - 1].lstrip(" ")[:1]


def load_text(text: str, file: str) -> Located:
    """Parse YAML text into data plus positions; raises YamlProblems."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise YamlProblems([Problem(1, 1, f"file is larger than {MAX_BYTES // 1000} kB; "
                                          "a rules or config file never needs to be", file)])
    loader = _BaseLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        detail = exc.problem or str(exc)
        if _tab_at(text, line, column):
            detail = "tab characters cannot indent YAML; use spaces"
        elif exc.context:
            opened = exc.context_mark
            where = f" at line {opened.line + 1}" if opened and opened.line + 1 != line else ""
            detail = f"{detail} ({exc.context}{where})"
        raise YamlProblems([Problem(line, column, f"not valid YAML: {detail}", file)]) from None
    except yaml.YAMLError as exc:
        raise YamlProblems([Problem(1, 1, f"not valid YAML: {exc}", file)]) from None
    finally:
        loader.dispose()
    located = Located({}, {}, {}, file)
    if node is None:
        return located
    problems: list[Problem] = []
    located.data = _walk(node, (), located, problems, 0, _Budget())
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


def dotted_path(loc: Sequence[str | int]) -> str:
    """A key path as people write it: ``seams.pairs[2].departments``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


#: A full key path written in a message, such as ``seams.pairs[0]`` or ``privacy.retention_weeks``.
_KEY_PATH = re.compile(r"\b[a-z_]+(?:\[\d+\])*(?:\.[a-z_]+(?:\[\d+\])*)+")


def _parts(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in re.findall(r"[a-z_]+|\d+", path)]


def _refine(loc: list[str | int], message: str, located: Located) -> list[str | int]:
    """A model-level error often names the key at fault first; point at that key.

    Failing that, point at the first full key path the message names that the
    file itself has (the key at fault may come from a preset or a default).
    """
    first = message.split(" ", 1)[0].strip("'\",:;()")
    if first and all(part.isidentifier() for part in first.split(".")):
        candidate = [*loc, *first.split(".")]
        if tuple(candidate) in located.positions:
            return candidate
    for match in _KEY_PATH.finditer(message):
        candidate = [*loc, *_parts(match.group())]
        if tuple(candidate) in located.positions:
            return candidate
    return loc


def _readable(error: Any) -> str:
    """Pydantic's message, reworded a little and with the value that was given."""
    message = str(error["msg"])
    if message.startswith("Value error, "):
        return message[len("Value error, "):]
    if message.startswith("Input should be"):
        message = "should be" + message[len("Input should be"):]
    given = error.get("input")
    if isinstance(given, str | int | float | bool) and not isinstance(given, dict):
        shown = repr(given) if len(repr(given)) <= 60 else repr(given)[:57] + "..."
        message += f", got {shown}"
    elif isinstance(given, list | dict):
        message += f", got a {'list' if isinstance(given, list) else 'mapping'}"
    return message


def _without_tags(loc: list[str | int], data: Any) -> list[str | int]:
    """Drop the union member names pydantic adds to a location (``source.files.path``)."""
    out: list[str | int] = []
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        inside_dict = isinstance(data, dict) and part in data
        inside_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if inside_dict or inside_list:
            data = data[part]
        elif isinstance(data, dict) and isinstance(part, str) and not last:
            continue  # a tag: the data has no such key here
        else:
            data = None
        out.append(part)
    return out


def validation_problems(
    exc: ValidationError, located: Located, model: type[BaseModel]
) -> list[Problem]:
    """Every pydantic error as a located, readable problem."""
    problems: list[Problem] = []
    for error in exc.errors():
        loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        # pydantic puts union/tagged tags in loc; keep only path parts that exist in the data
        loc = [p for p in loc if not (isinstance(p, str) and "[" in p)]
        loc = _without_tags(loc, located.data)
        dotted = dotted_path(loc)
        kind = error["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            hint = _suggest(key, _allowed_keys(model, loc[:-1]))
            problems.append(located.problem(loc, f"unknown key '{dotted}'{hint}", key=True))
            continue
        if kind == "missing":
            problems.append(located.problem(loc[:-1], f"'{dotted}' is required"))
            continue
        message = _readable(error)
        if kind.startswith("value_error") or kind == "assertion_error":
            where = _refine(loc, message, located)
            key = message.split(":", 1)[0]
            if where != loc and message.startswith(f"{key}:") and " " not in key:
                dotted, message = dotted_path(where), message.split(":", 1)[1].strip()
            prefix = f"{dotted}: " if dotted else ""
            problems.append(located.problem(where, f"{prefix}{message}"))
            continue
        problems.append(located.problem(loc, f"{dotted or '(top level)'}: {message}"))
    return sorted(set(problems))
