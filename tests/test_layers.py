"""The layers of the code: imports go down the layers only, and no modules import each other in a circle.

LAYERS below is the one statement of the order. Within a layer modules may import each other (without a circle),
except where APART keeps two packages apart. The import graph is read from the source with `ast`, imports inside
functions included, so a lazy import cannot hide a circle or an upward import.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

from core.paths import REPO_ROOT

ROOTS = ("core", "app", "pages")
# lowest first: a module may import from its own layer and the layers before it, never from a later one
LAYERS = (
    ("ground", ("core",)),  # core/*.py: paths, files, processes, progress, job_status, device, options, run_folder
    ("data", ("core.data",)),
    ("models", ("core.models",)),
    (
        "work",
        (
            "core.training",
            "core.inference",
            "core.evaluation",
            "core.labels",
            "core.export",
            "core.audit",
            "core.users",
        ),
    ),
    ("jobs", ("core.jobs",)),
    ("cli", ("core.cli", "core.__main__")),
    ("app", ("app",)),
    ("pages", ("pages",)),
)
# packages of one layer of which the first must not import the second: inference serves models without the training
# code; training trains on the labels it is handed (core.jobs chooses them) and label finding trains nothing itself
APART = (("core.inference", "core.training"), ("core.training", "core.labels"), ("core.labels", "core.training"))


def module_files(root: Path = REPO_ROOT) -> dict[str, Path]:
    """Every module of the project by dotted name (a package by its own name)."""
    modules = {}
    for top in ROOTS:
        for path in sorted((root / top).rglob("*.py")):
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def imported_names(path: Path) -> list[str]:
    """The dotted names a module imports, anywhere in it (`from a.b import c` gives a.b.c: the module c, or else
    the name c of module a.b, which resolves to a.b)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports (a name resolves to the longest module that it starts with)."""

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in modules.items():
        targets = {owner(name) for name in imported_names(path)}
        # a package importing its own name (core.models' __init__ importing its architectures) is no edge
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def layer_of(module: str) -> int:
    """The index in LAYERS of the longest prefix that names the module's package; ground is core/*.py only."""
    best, best_length = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if prefix == "core" and module.count(".") > 1:
                    continue  # core.something.module: a sub-package, which must be listed itself
                if len(prefix) > best_length:
                    best, best_length = index, len(prefix)
    if best is None or (best == 0 and module.count(".") == 1 and module_is_package(module)):
        raise LookupError(f"{module} has no layer: add its package to LAYERS in tests/test_layers.py")
    return best


def module_is_package(module: str) -> bool:
    return (REPO_ROOT / Path(*module.split("."))).is_dir()


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(module_files())


def test_every_module_has_a_layer(graph):
    assert {module: layer_of(module) for module in graph}  # raises LookupError naming a module without one


def test_no_import_circle(graph):
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        pytest.fail(f"import circle: {' -> '.join(error.args[1])}")


def test_no_module_imports_from_a_layer_above_its_own(graph):
    upward = [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if layer_of(target) > layer_of(module)
    ]
    assert not upward, "\n".join(upward)


def test_packages_kept_apart_do_not_import_each_other(graph):
    def inside(module: str, package: str) -> bool:
        return module == package or module.startswith(package + ".")

    crossing = [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        for target in targets
        for lower, upper in APART
        if inside(module, lower) and inside(target, upper)
    ]
    assert not crossing, "\n".join(crossing)


def test_the_checks_see_a_circle_an_upward_import_and_a_lazy_one(tmp_path):
    """The graph reader on a tree made here: a lazy import inside a function counts, and so would a circle."""
    for name, text in {
        "core/__init__.py": "",
        "core/low.py": "def f():\n    from core.jobs.high import g\n",
        "core/jobs/__init__.py": "",
        "core/jobs/high.py": "from core import low\n",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(module_files(tmp_path))
    assert graph["core.low"] == {"core.jobs.high"} and graph["core.jobs.high"] == {"core.low"}
    assert layer_of("core.low") < layer_of("core.jobs.high")  # so core.low's import is an upward one
    with pytest.raises(graphlib.CycleError):
        tuple(graphlib.TopologicalSorter(graph).static_order())
    with pytest.raises(LookupError, match="core.newpackage.thing has no layer"):
        layer_of("core.newpackage.thing")
