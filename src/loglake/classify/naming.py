"""The naming grammar: `{env}-{exposure}-{app}` by default, e.g. `prod-int-payments` -> env prod, internal.

Placeholders: `env` (one of the configured environments), `exposure` (a token mapped to a reachability),
`sensitivity` (a classification word, e.g. `pci`), `app` (the rest: may contain separators); any other name
matches one word. Literal text between placeholders must match as written (case-insensitive).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class NameParts:
    env: str | None
    exposure: str | None
    sensitivity: str | None
    app: str | None


def compile_pattern(pattern: str, envs: list[str], exposures: dict[str, str], sensitivities: list[str] | None = None):
    names = PLACEHOLDER.findall(pattern)
    if not names:
        raise ValueError(f"pattern {pattern!r} has no {{placeholder}}")
    if len(set(names)) != len(names):
        raise ValueError(f"pattern {pattern!r} repeats a placeholder")
    pieces = []
    position = 0
    for match in PLACEHOLDER.finditer(pattern):
        pieces.append(re.escape(pattern[position : match.start()]))
        name = match.group(1)
        if name == "env":
            pieces.append(f"(?P<env>{_alternatives(envs)})")
        elif name == "exposure":
            pieces.append(f"(?P<exposure>{_alternatives(list(exposures))})")
        elif name == "sensitivity":
            pieces.append(f"(?P<sensitivity>{_alternatives(sensitivities or [])})")
        elif name == "app":
            pieces.append("(?P<app>.+?)")
        else:
            pieces.append(f"(?P<{name}>[A-Za-z0-9]+)")
        position = match.end()
    pieces.append(re.escape(pattern[position:]))
    return re.compile("^" + "".join(pieces) + "$", re.IGNORECASE)


def _alternatives(words: list[str]) -> str:
    ordered = sorted({w for w in words if w}, key=len, reverse=True)
    return "|".join(re.escape(w) for w in ordered) if ordered else "(?!)"


def parse_name(name: str, naming: dict, sensitivity_words: list[str]) -> NameParts | None:
    regex = compile_pattern(naming["pattern"], naming["env"], naming["exposure"], sensitivity_words)
    match = regex.match(name or "")
    if not match:
        return None
    groups = match.groupdict()
    lower = {k: (v.lower() if isinstance(v, str) else v) for k, v in groups.items()}
    return NameParts(lower.get("env"), lower.get("exposure"), lower.get("sensitivity"), groups.get("app"))
