"""The shape of the code (ARCHITECTURE.md), read from the import statements of crawler/, spiders/
and storage/, lazy imports inside functions included (only `if TYPE_CHECKING:` blocks are left
out): every import points down the layers, no cycle, no private name crosses a module, and no
module grows past what one reader holds in mind."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("crawler", "spiders", "storage")

# Top to bottom: a module may import from its own layer or any layer below it, never above.
LAYERS = (
    ("crawler.cli", "crawler.__main__"),
    ("crawler.jobs", "crawler.distributed"),
    ("crawler.runner", "crawler.logs"),
    ("spiders",),
    ("crawler.archive",),
    ("crawler.pipeline",),
    ("crawler.capture",),
    ("crawler.fetch",),
    ("crawler.config", "crawler.meta", "crawler.settings", "crawler.dates", "crawler"),
    ("crawler.extract", "storage"),
)
MAX_LINES = 800
MAX_TOP_LEVEL_MODULES = 12


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}


MODULES = _modules()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    return skipped


def imports_of(name: str) -> list[tuple[str, str | None]]:
    """(module imported, name taken from it or None) for every import statement of a module."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.append((submodule, None) if submodule in MODULES else (target, alias.name))
    return found


def _ours(target: str) -> str | None:
    """The module of ours an import names (the longest known prefix), or None."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


GRAPH = {name: {m for target, _ in imports_of(name) if (m := _ours(target)) and m != name} for name in MODULES}


def _layer(name: str) -> int:
    best, rank = -1, len(LAYERS)
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    return rank


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in GRAPH[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in GRAPH[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _third_party(names: set[str]) -> set[str]:
    return {target.split(".")[0] for name in names for target, _ in imports_of(name)}


def test_every_module_is_in_a_layer():
    assert [name for name in MODULES if _layer(name) == len(LAYERS)] == []


def test_no_import_cycle():
    assert _cycles() == []


def test_every_import_points_down():
    upward = [f"{name} ({_layer(name)}) imports {target} ({_layer(target)})"
              for name, targets in GRAPH.items() for target in targets if _layer(target) < _layer(name)]
    assert upward == []


@pytest.mark.parametrize("package, forbidden", [
    ("storage", {"scrapy", "twisted", "crawler", "spiders"}),
    ("crawler.extract", {"scrapy", "twisted", "spiders", "storage"}),
])
def test_lower_layers_stay_free_of_scrapy_and_the_crawler(package, forbidden):
    own = {name for name in MODULES if name == package or name.startswith(package + ".")}
    closure = own.union(*(_reachable(name) for name in own))
    outside = sorted(name for name in closure if not (name == package or name.startswith(package + ".")))
    assert outside == [] if package == "storage" else all(name.startswith("crawler.extract") for name in outside)
    assert _third_party(closure) & forbidden == set()


def test_spiders_do_not_import_storage():
    assert sorted(f"{n} -> {t}" for n, ts in GRAPH.items() if n.startswith("spiders") for t in ts
                  if t.startswith("storage")) == []


def test_no_private_name_crosses_a_module():
    crossing = [f"{name} imports {imported} from {target}"
                for name in MODULES for target, imported in imports_of(name)
                if imported and imported.startswith("_") and not imported.startswith("__")
                and _ours(target) not in (None, name)]
    assert crossing == []


def test_modules_stay_small_and_the_core_stays_flat():
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}
    top_level = sorted(p.name for p in (REPO / "crawler").glob("*.py"))
    assert len(top_level) <= MAX_TOP_LEVEL_MODULES, top_level


def test_the_checks_see_what_they_check():
    """The graph is read for real: known imports are in it (a parser that found nothing would
    pass every test above)."""
    assert "crawler.capture.session" in GRAPH["crawler.pipeline.pipelines"]
    assert "crawler.extract.analysis" in GRAPH["crawler.pipeline.records"]
    assert any(target == "scrapy" or target.startswith("scrapy.")
               for target, _ in imports_of("crawler.capture.middleware"))


def test_our_settings_are_alphabetical():
    text = (REPO / "crawler" / "settings.py").read_text(encoding="utf-8")
    ours = text.split("# --- our settings", 1)[1].split("\n# The Redis server", 1)[0]
    names = [line.split(":")[0].split(" =")[0] for line in ours.splitlines() if line[:1].isupper()]
    assert len(names) > 40 and names == sorted(names)
