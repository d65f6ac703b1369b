"""Import Gradio without rewriting its type stubs: Gradio 6 regenerates the .pyi file of every component class
each time it is imported (`gradio.component_meta.create_or_modify_pyi`: parse the source, compare, maybe write),
about 1.5 s of the 2.8 s `import gradio` takes on 2 CPU cores. The stubs are editor hints that ship in the wheel;
serving never reads them. `skip_stub_rewrites()` installs an import hook that replaces that one function with a
no-op as soon as its module has run, before any component class is made.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

STUB_MODULE = "gradio.component_meta"


def no_stub_rewrite(*args, **kwargs) -> None:
    """Stands in for `create_or_modify_pyi`: the stubs in the wheel stay as installed."""


class PatchAfterExec(importlib.abc.Loader):
    """Runs the real loader, then swaps in `no_stub_rewrite`."""

    def __init__(self, loader: importlib.abc.Loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        if hasattr(module, "create_or_modify_pyi"):  # a Gradio without it: nothing to skip
            module.create_or_modify_pyi = no_stub_rewrite


class StubRewriteFinder(importlib.abc.MetaPathFinder):
    """Finds `gradio.component_meta` as usual and wraps its loader."""

    def find_spec(self, name, path, target=None):
        if name != STUB_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = PatchAfterExec(spec.loader)
        return spec


def skip_stub_rewrites() -> None:
    """Install the hook (once); without effect if Gradio is already imported."""
    if not any(isinstance(finder, StubRewriteFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, StubRewriteFinder())
