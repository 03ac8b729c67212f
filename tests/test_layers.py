"""Dependencies run the way the data flows (DESIGN.md): the record knows
nothing of the agenda; the agenda reads the record; outreach, advocacy and
win-back act on both; the demo and the benchmarks sit on top of everything.
Checked on the source, so an upward import fails here before review."""

import ast
from pathlib import Path

import rapport

ROOT = Path(rapport.__file__).parent
# A module may import from its own layer or below.
LAYER = {
    "lib": 0,
    "kinds": 0,
    "redaction": 0,
    "workspaces": 1,
    "clients": 1,
    "agenda": 2,
    "outreach": 3,
    "advocacy": 3,
    "winback": 3,
    "dev": 4,
}
# Known debts, each with its reason; the test below fails once one is paid,
# so the list can only shrink.
OWED = {
    ("clients/actions.py", "rapport.agenda.text"): "notes are read as they are logged",
    ("clients/imports.py", "rapport.advocacy.models"): "the referrals CSV",
    ("clients/imports.py", "rapport.advocacy.matching"): "the referrals CSV",
    ("clients/imports.py", "rapport.advocacy"): "the referrals CSV",
}


def upward_imports() -> set[tuple[str, str]]:
    found = set()
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        app = relative.parts[0].removesuffix(".py")
        if app not in LAYER or "migrations" in relative.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                parts = module.split(".")
                if parts[0] != "rapport" or len(parts) < 2 or parts[1] not in LAYER:
                    continue
                if LAYER[parts[1]] > LAYER[app]:
                    found.add((relative.as_posix(), module))
    return found


def test_the_record_imports_nothing_from_the_layers_above():
    upward = {(path, module) for path, module in upward_imports() if path.startswith("clients/")}
    assert upward - set(OWED) == set()


def test_nothing_imports_the_demo_or_the_benchmarks():
    assert {(p, m) for p, m in upward_imports() if m.startswith("rapport.dev")} == set()


def test_every_owed_import_is_still_there():
    # Paid debts leave the list.
    assert set(OWED) - upward_imports() == set()
