"""Which rules exist: the built-in pack shipped in `detect/rules/`, and the files added to a lake's `rules/`.

A file in a lake's rules folder is either a loglake rule or a Sigma rule (told apart by its keys); a Sigma rule
loglake cannot run is listed as unsupported with the reason instead of failing the whole rulebook.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from loglake.detect.rule import Rule, RuleError, is_sigma, read_yaml_documents, rule_from_documents

BUILTIN = Path(__file__).parent / "rules"
RULE_SUFFIXES = (".yml", ".yaml")


@dataclass
class Rulebook:
    rules: list[Rule] = field(default_factory=list)
    unsupported: list[tuple[Path, str]] = field(default_factory=list)  # (file, why it cannot run)

    def get(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        close = [r.id for r in self.rules if rule_id in r.id][:5]
        hint = f"; did you mean {', '.join(close)}?" if close else "; `loglake rules list` shows them"
        raise RuleError(f"no rule {rule_id!r}{hint}")


def lake_rules_dir(lake: Path) -> Path:
    return lake / "rules"


def load_rulebook(lake: Path | None = None, *, builtin: bool = True, extra: Path | None = None) -> Rulebook:
    """Every rule: the built-in pack, the lake's own, then `extra` (a later rule with the same id wins)."""
    book = Rulebook()
    folders = ([BUILTIN] if builtin else []) + ([lake_rules_dir(lake)] if lake is not None else [])
    folders += [extra] if extra is not None else []
    by_id: dict[str, Rule] = {}
    for folder in folders:
        for path in rule_files(folder):
            for rule in _load(path, book):
                by_id[rule.id] = rule
    book.rules = sorted(by_id.values(), key=lambda r: r.id)
    return book


def rule_files(folder: Path) -> list[Path]:
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file())


def _load(path: Path, book: Rulebook) -> list[Rule]:
    documents = read_yaml_documents(path)
    if documents and all(is_sigma(d) for d in documents):
        from loglake.detect import sigma  # pySigma is imported only when a Sigma rule is there

        try:
            return sigma.load_sigma_file(path)
        except sigma.SigmaUnsupported as why:
            book.unsupported.append((path, str(why)))
            return []
    return [rule_from_documents(documents, path)]


def add_rules(lake: Path, source: Path) -> tuple[list[Rule], list[tuple[Path, str]]]:
    """Copy rule files (a file or a folder of them) into the lake's rules folder, after checking each loads.

    A loglake rule with an error stops the add (nothing is copied); a Sigma rule loglake cannot run is
    copied anyway and reported, so it is listed by `rules list --unsupported`.
    """
    files = rule_files(source)
    if not files:
        raise RuleError(f"{source}: no .yml/.yaml rule files there")
    checked = Rulebook()
    loaded = [rule for path in files for rule in _load(path, checked)]
    target = lake_rules_dir(lake)
    target.mkdir(parents=True, exist_ok=True)
    base = source if source.is_dir() else source.parent
    for path in files:
        destination = target / path.relative_to(base)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
    return loaded, checked.unsupported
