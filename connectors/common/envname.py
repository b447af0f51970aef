"""Settings that name an environment variable holding a secret (``*_env``).

People sometimes paste the secret itself where its variable's name belongs.
Such a value must never be echoed back in an error or a log line, so it is
refused without being quoted, and a variable that is not set is named only
when its name looks like a conventional one (upper case with underscores).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONVENTIONAL = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")


def _check(value: object) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        # no quoting of the value: it may well be the secret itself
        raise ValueError("this names the environment variable that holds the secret; it is not "
                         "a variable name (letters, digits, underscores). Put the secret itself "
                         "in that variable or in the matching *_file, never in the config")
    return value


#: The name of an environment variable; refuses anything that cannot be one, unquoted.
EnvName = Annotated[str, BeforeValidator(_check)]


def describe(name: str, setting: str) -> str:
    """How an error names the variable: by name if it looks like one, else by its setting."""
    if _CONVENTIONAL.fullmatch(name):
        return f"the environment variable {name}"
    return f"the environment variable named by {setting}"
