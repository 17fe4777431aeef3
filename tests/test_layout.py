"""The layout shows the architecture: a package per stage, imports that follow the data,
nothing private reached across packages (docs/architecture.md draws the same).

Every import counts: top-level, function-local and type-only ones alike.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "codex_magic"

# The stages in the order data flows (a module may import its own stage and those before).
STAGES = [
    ("types", "options", "runtime"),  # values, option declarations, interrupts and resources
    ("prompt",),  # cell -> Task, stops, cutting
    ("models",),  # the registry, lookup, store, downloads
    ("engines",),  # sampling and scoring (llama.cpp in process, a server)
    ("sandbox",),  # running candidates' code, confined
    ("checks",),  # each candidate's doctests as soon as it ends
    ("rank",),  # merge identical candidates, order
    ("render",),  # the one JSON shape, text, HTML
    ("docstrings",),  # the reverse direction: docstrings, review, explain
    ("pipeline",),  # solve(): the one orchestration function
    ("evaluation",),  # HumanEval: pass@k, ranking
    ("frontends", "widget", "_limits", "_sidebar"),  # magics, CLI, widgets, sidebar (+ old names)
]
STAGE = {name: i for i, names in enumerate(STAGES) for name in names}

# The package's own face and the old module names kept for code outside the project: they
# re-export from inside the packages.
COMPAT = {"codex_magic", "codex_magic.widget", "codex_magic._limits", "codex_magic._sidebar"}

MAX_TOP_LEVEL_MODULES = 12  # modules directly in codex_magic/, __init__ included
MAX_CYCLES = 1
MAX_CLIMBS = 3


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> list[tuple[str, str, int, str]]:
    """(imported module, imported name or "", line, the module named in the import) for
    every import of codex_magic."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, "", node.lineno, a.name) for a in node.names
                    if a.name.split(".")[0] == "codex_magic"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "codex_magic":
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.append((sub, "", node.lineno, target) if sub in known else
                           (target, a.name, node.lineno, target))
    return out


def _graph() -> tuple[dict[str, Path], dict[str, set[str]],
                      list[tuple[str, str, str, int, str]]]:
    modules = _modules()
    known = set(modules)
    edges: dict[str, set[str]] = {m: set() for m in modules}
    detail = []
    for m, path in modules.items():
        for target, name, line, via in _imports(m, path, known):
            while target not in known:  # a name imported from a module
                target = target.rpartition(".")[0]
            if target != m:
                edges[m].add(target)
                detail.append((m, target, name, line, via))
    return modules, edges, detail


def _stage(module: str) -> int | None:
    parts = module.split(".")
    return STAGE.get(parts[1]) if len(parts) > 1 else None


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def _exported(package: str, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(modules[package].read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return set()


def test_every_module_is_in_a_stage():
    modules, _, _ = _graph()
    lost = [m for m in modules if m != "codex_magic" and _stage(m) is None]
    assert not lost, f"add these to a stage in tests/test_layout.py: {lost}"


def test_few_modules_directly_in_the_package():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_import_cycles():
    _, edges, _ = _graph()
    cycles = _cycles(edges)
    assert len(cycles) <= MAX_CYCLES, cycles


def test_imports_that_climb_to_a_later_stage():
    _, _, detail = _graph()
    climbs = sorted({(a, b) for a, b, _, _, _ in detail
                     if _stage(a) is not None and _stage(b) is not None
                     and _stage(b) > _stage(a)})
    assert len(climbs) <= MAX_CLIMBS, climbs


def test_across_packages_only_what_an_init_exports():
    """From outside a package, import the package (its ``__init__``'s ``__all__``), not
    its modules; within a stage package, anything. The package may export a module."""
    modules, _, detail = _graph()
    packages = {m for m, p in modules.items() if p.name == "__init__.py"} - {"codex_magic"}
    wrong = []
    for a, b, name, line, via in detail:
        stage_pkg = ".".join(b.split(".")[:2])
        if stage_pkg not in packages or a in COMPAT:
            continue
        if a.startswith(stage_pkg + ".") or a == stage_pkg:  # inside the stage
            continue
        if b == stage_pkg and not name:  # the package itself
            continue
        exported = _exported(stage_pkg, modules)
        if via == stage_pkg and (name in exported if name else b.rpartition(".")[2] in exported):
            continue
        wrong.append(f"{modules[a].relative_to(ROOT)}:{line} imports "
                     f"{b}{'.' + name if name else ''}")
    assert not wrong, "\n".join(wrong)


def test_no_private_names_across_modules():
    """A ``_name`` is private to its module: no other module imports it."""
    _, _, detail = _graph()
    wrong = [f"{a}:{line} imports {b}.{name}" for a, b, name, line, _ in detail
             if name.startswith("_") and not name.startswith("__")]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("attr", ["_ll", "_model", "_lock", "_context"])
def test_nothing_outside_engines_touches_an_engines_private_parts(attr):
    modules = _modules()
    wrong = []
    for m, path in modules.items():
        if m.startswith("codex_magic.engines"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == attr and not (
                    isinstance(node.value, ast.Name) and node.value.id == "self"):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not wrong, wrong


def test_every_package_says_what_it_owns():
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc, f"{init.relative_to(ROOT)} has no docstring"
