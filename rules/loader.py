"""Load an admin's rules file into :class:`rules.model.Rules`, reporting every problem.

The file is parsed with positions (``rules.yamlsource``), laid over a shipped
preset when it says ``extends: <preset>``, validated by the strict models, and
checked against the directory's department names when those are known. All
problems found on the way are collected and raised together as one
:class:`connectors.common.errors.RulesError`, each as ``file:line:column: message``.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Collection, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from connectors.common.errors import RulesError
from rules.model import Rules, group_clashes
from rules.yamlsource import Located, Problem, YamlProblems, load_file, load_text
from rules.yamlsource import validation_problems as _validation_problems

PRESET_PACKAGE = "rules.presets"

# Where department names appear in a rules file, as key paths with "*" for list items.
DEPARTMENT_PATHS: tuple[tuple[str | int, ...], ...] = (
    ("seams", "pairs", "*", "departments", "*"),
    ("seams", "ignore_pairs", "*", "*"),
    ("seams", "ignore_departments", "*"),
    ("participants", "include_departments", "*"),
    ("participants", "exclude_departments", "*"),
)
# Where a department pair may be written as one string, "A / B".
PAIR_PATHS: tuple[tuple[str | int, ...], ...] = (
    ("seams", "pairs", "*", "departments"),
    ("seams", "ignore_pairs", "*"),
)


def preset_names() -> list[str]:
    """The presets shipped in ``rules/presets``, by name (file name without ``.yaml``)."""
    folder = resources.files(PRESET_PACKAGE)
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


def _preset_text(name: str) -> str:
    return resources.files(PRESET_PACKAGE).joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def _did_you_mean(word: str, options: Collection[str]) -> str:
    """A hint naming the closest option, trying case-insensitive first."""
    by_case = {option.lower(): option for option in options}
    if word.lower() in by_case:
        return f" (did you mean '{by_case[word.lower()]}'?)"
    close = difflib.get_close_matches(word.lower(), list(by_case), n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{by_case[close[0]]}'?)"
    if len(options) <= 12:
        return f" (known: {', '.join(sorted(options))})" if options else ""
    return ""


def _merge(base: Any, over: Any) -> Any:
    """``over`` laid on ``base``: mappings merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return over


def _preset_data(name: str, chain: tuple[str, ...] = ()) -> dict[str, Any]:
    """A shipped preset's raw data with its own ``extends`` resolved.

    Presets are part of the package; a broken one is a bug, not a user error,
    so problems here surface as a RulesError naming the preset file.
    """
    if name in chain:
        raise RulesError(f"presets extend each other in a loop: {' -> '.join((*chain, name))}")
    located = load_text(_preset_text(name), f"<preset {name}>")
    data = located.data if isinstance(located.data, dict) else {}
    parent = data.get("extends")
    if isinstance(parent, str):
        data = _merge(_preset_data(parent, (*chain, name)), data)
    return data


def _resolve_extends(located: Located, problems: list[Problem]) -> dict[str, Any]:
    """The user's data laid over the preset it extends, if any."""
    data: dict[str, Any] = located.data
    name = data.get("extends")
    if not isinstance(name, str):  # absent, or a wrong type the model reports
        return data
    names = preset_names()
    if name not in names:
        hint = _did_you_mean(name, names)
        problems.append(located.problem(("extends",), f"extends: no preset named '{name}'{hint}"))
        return data
    return _merge(_preset_data(name), data)


def _walk_paths(
    data: Any, pattern: tuple[str | int, ...], prefix: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every (path, value) in ``data`` matching ``pattern`` ("*" matches any list index)."""
    if not pattern:
        yield prefix, data
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        if isinstance(data, list):
            for index, item in enumerate(data):
                yield from _walk_paths(item, rest, (*prefix, index))
    elif isinstance(data, Mapping) and head in data:
        yield from _walk_paths(data[head], rest, (*prefix, head))


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _groups_in(data: Any) -> dict[str, list[str]]:
    """The ``departments.groups`` of raw rules data, as far as it is well formed."""
    section = data.get("departments") if isinstance(data, Mapping) else None
    groups = section.get("groups") if isinstance(section, Mapping) else None
    if not isinstance(groups, Mapping):
        return {}
    # a group with a member that is not a name is left to the model's type error
    return {name: members for name, members in groups.items() if isinstance(name, str)
            and isinstance(members, list) and all(isinstance(m, str) for m in members)}


def _group_problems(groups: Mapping[str, list[str]], located: Located,
                    known: set[str]) -> list[Problem]:
    """Group members the directory does not know, and groups named like a department
    that stays on its own (the rules could not tell the two apart)."""
    problems: list[Problem] = []
    listed = {member for members in groups.values() for member in members}
    for group, members in groups.items():
        for index, member in enumerate(members):
            if member not in known:
                path: tuple[str | int, ...] = ("departments", "groups", group, index)
                problems.append(located.problem(
                    path, f"{_dotted(path)}: unknown department '{member}'"
                    f"{_did_you_mean(member, known)}"))
        if group in known and group not in listed:
            path = ("departments", "groups", group)
            problems.append(located.problem(
                path, f"{_dotted(path)}: '{group}' is also a department of the directory that "
                "no group takes in; list it in this group, or name the group otherwise",
                key=True))
    return problems


def department_problems(
    data: Any, located: Located, departments: Collection[str]
) -> list[Problem]:
    """Department names in the rules that the directory does not know.

    Under ``departments.groups`` the names are the directory's; everywhere else
    they are the names the groups leave: a group, or a department in none.
    """
    known = set(departments)
    groups = _groups_in(data)
    problems = _group_problems(groups, located, known)
    grouped = {member: group for group, members in groups.items() for member in members}
    names = {grouped.get(d, d) for d in known} | set(groups)

    def check(path: tuple[str | int, ...], name: str) -> None:
        if name in names:
            return
        if name in grouped:
            message = (f"{_dotted(path)}: department '{name}' is part of the group "
                       f"'{grouped[name]}' (departments.groups); name the group")
        else:
            message = (f"{_dotted(path)}: unknown department '{name}'"
                       f"{_did_you_mean(name, names)}")
        problems.append(located.problem(path, message))

    for pattern in DEPARTMENT_PATHS:
        for path, value in _walk_paths(data, pattern):
            if isinstance(value, str):
                check(path, value)
    for pattern in PAIR_PATHS:
        for path, value in _walk_paths(data, pattern):
            if isinstance(value, str) and "/" in value:
                for name in value.split("/"):
                    check(path, name.strip())
    return problems


def _duplicate_pair_problems(data: Any, located: Located) -> list[Problem]:
    """Each repeated named pair, located at the repeat (the model only knows the list)."""
    problems: list[Problem] = []
    for section in ("pairs", "ignore_pairs"):
        seen: dict[frozenset[str], tuple[str | int, ...]] = {}
        pattern: tuple[str | int, ...] = ("seams", section, "*")
        for path, item in _walk_paths(data, pattern):
            pair = item.get("departments") if isinstance(item, dict) else item
            if isinstance(pair, str) and "/" in pair:
                pair = [part.strip() for part in pair.split("/")]
            if not (isinstance(pair, list) and len(pair) == 2 and all(
                isinstance(name, str) for name in pair
            )):
                continue
            key = frozenset(pair)
            if key in seen and len(key) == 2:
                line, _ = located.where(seen[key])
                problems.append(located.problem(
                    path, f"{_dotted(path)}: the pair {pair[0]} / {pair[1]} is already listed "
                    f"at line {line}"))
            seen.setdefault(key, path)
    return problems


def _group_clash_problems(data: Any, located: Located) -> list[Problem]:
    """Each department two groups claim, located at the second claim (the model reports the
    first clash only, at the section)."""
    problems = []
    for clash in group_clashes(_groups_in(data)):
        path: tuple[str | int, ...] = ("departments", "groups", clash.group)
        if clash.member is not None:
            path = (*path, clash.member)
        problems.append(located.problem(path, f"{_dotted(path)}: {clash.message}",
                                        key=clash.member is None))
    return problems


def _rules_error(file: str, problems: list[Problem]) -> RulesError:
    lines = [str(p) for p in sorted(set(problems))]
    count = f"{len(lines)} problem{'s' if len(lines) != 1 else ''}"
    return RulesError(f"invalid rules in {file} ({count}):\n" + "\n".join(lines), lines)


def _validate(located: Located, departments: Collection[str] | None) -> Rules:
    problems: list[Problem] = []
    if located.data is None or located.data == {}:
        located.data = {}
    if not isinstance(located.data, dict):
        problems.append(located.problem((), "the rules file must be a mapping of sections "
                                            "(seams, participants, pairing, ...)"))
        raise _rules_error(located.file, problems)
    merged = _resolve_extends(located, problems)
    problems += _duplicate_pair_problems(located.data, located)
    clashes = _group_clash_problems(located.data, located)
    problems += clashes
    if departments is not None:
        problems += department_problems(located.data, located, departments)
    rules: Rules | None = None
    try:
        rules = Rules.model_validate(merged)
    except ValidationError as exc:
        found = _validation_problems(exc, located, Rules)
        if any("already listed" in p.message for p in problems):
            # the located duplicate message above says it better than the model's
            found = [p for p in found if "is listed twice" not in p.message]
        if clashes:  # located above, each at its own line
            found = [p for p in found if not p.message.startswith("departments.groups:")]
        problems += found
    if problems or rules is None:
        raise _rules_error(located.file, problems)
    return rules


def load_rules_text(
    text: str, file: str = "<rules>", departments: Collection[str] | None = None
) -> Rules:
    """Rules from YAML text; raises RulesError listing every located problem."""
    try:
        located = load_text(text, file)
    except YamlProblems as exc:
        raise _rules_error(file, exc.problems) from None
    return _validate(located, departments)


def load_rules(path: Path | None, *, departments: Collection[str] | None = None) -> Rules:
    """Rules from a file, or the default rules without one; the one loader every caller uses.

    ``departments``, when given, are the directory's department names; any
    other name in the rules is reported with the closest known one.

    :raises RulesError: listing every problem, each located as ``file:line:column``.
    """
    if path is None:
        return default_rules()
    try:
        located = load_file(path)
    except YamlProblems as exc:
        raise _rules_error(str(path), exc.problems) from None
    return _validate(located, departments)


def load_preset(name: str) -> Rules:
    """A shipped preset as rules."""
    if name not in preset_names():
        raise RulesError(f"no preset named '{name}'{_did_you_mean(name, preset_names())}")
    return Rules.model_validate({**_preset_data(name), "extends": name})


@functools.cache
def default_rules() -> Rules:
    """The rules in force without a rules file: the ``default`` preset."""
    return Rules.model_validate(_preset_data("default"))
