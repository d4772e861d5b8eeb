"""STYLE rule 1: dependencies point inward. A layer that imports outward fails this test."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "walletbridge"
STDLIB = set(sys.stdlib_module_names) | {"__future__"}

# What each layer may import from walletbridge itself; third-party packages are listed apart.
ALLOWED_INTERNAL = {
    "domain": ("walletbridge.domain",),
    "ports": ("walletbridge.domain", "walletbridge.ports"),
    "services": ("walletbridge.domain", "walletbridge.ports", "walletbridge.services"),
    "adapters": ("walletbridge.domain", "walletbridge.ports", "walletbridge.adapters"),
    "config": (),
}
THIRD_PARTY_ALLOWED = {
    "domain": set(),
    "ports": set(),
    "services": set(),
    "config": {"pydantic", "pydantic_settings"},
}


def layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def imports_of(path: Path) -> list[str]:
    return imports_in(path.read_text(encoding="utf-8"))


def imports_in(source: str) -> list[str]:
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def violations(path: Path) -> list[str]:
    return violations_in(layer_of(path), imports_of(path))


def violations_in(layer: str, names: list[str]) -> list[str]:
    if layer not in ALLOWED_INTERNAL:
        return []
    bad = []
    for name in names:
        top = name.split(".")[0]
        if top == "walletbridge":
            if not name.startswith(ALLOWED_INTERNAL[layer]):
                bad.append(name)
        elif (
            top not in STDLIB
            and layer in THIRD_PARTY_ALLOWED
            and top not in THIRD_PARTY_ALLOWED[layer]
        ):
            bad.append(name)
    return bad


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_outward(path: Path) -> None:
    assert violations(path) == []


def test_nothing_but_entrypoints_imports_the_entrypoints() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in MODULES
        if layer_of(path) != "entrypoints"
        and any(name.startswith("walletbridge.entrypoints") for name in imports_of(path))
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("layer", "source"),
    [
        ("domain", "import sqlalchemy"),
        ("domain", "from walletbridge.adapters.db import engine"),
        ("services", "from walletbridge.adapters.db.ledger_store import SqlLedgerStore"),
        ("ports", "from walletbridge.services.ledger import LedgerService"),
        ("adapters", "from walletbridge.services import ledger"),
    ],
)
def test_the_check_itself_catches_an_outward_import(layer: str, source: str) -> None:
    assert violations_in(layer, imports_in(source)) != []
