"""Import Gradio without rewriting its type stubs: Gradio 6 regenerates the .pyi file of every component class
each time it is imported (`gradio.component_meta.create_or_modify_pyi`: parse the source, compare, maybe write),
about 1.1 s of the 2.7 s `import gradio` takes on 2 CPU cores. The stubs are editor hints that ship in the wheel;
serving never reads them. `skip_stub_rewrites()` installs an import hook that replaces that one function with a
no-op as soon as its module has run, before any component class is made. Called after Gradio is imported, it
changes nothing (the classes are made by then).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

STUB_MODULE = "gradio.component_meta"


def no_stub_rewrite(*args: Any, **kwargs: Any) -> None:
    """Stands in for `create_or_modify_pyi`: the stubs in the wheel stay as installed."""


class PatchAfterExec(importlib.abc.Loader):
    """The real loader, and then `no_stub_rewrite` swapped in; everything else (get_source ...) is the real one's."""

    def __init__(self, loader: importlib.abc.Loader):
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        if hasattr(module, "create_or_modify_pyi"):  # a Gradio without it: nothing to skip
            module.create_or_modify_pyi = no_stub_rewrite

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)


class StubRewriteFinder(importlib.abc.MetaPathFinder):
    """Finds `gradio.component_meta` as usual and wraps its loader, once."""

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != STUB_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = PatchAfterExec(spec.loader)
        if spec is not None and self in sys.meta_path:
            sys.meta_path.remove(self)  # found: the module is imported once per process
        return spec


def skip_stub_rewrites() -> None:
    """Install the hook (once) unless Gradio is imported already."""
    if STUB_MODULE not in sys.modules and not any(isinstance(f, StubRewriteFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, StubRewriteFinder())
