"""app/gradio/import_hook.py: Gradio is imported without rewriting its type stubs, and works as before."""

from __future__ import annotations

import subprocess
import sys

from core.paths import REPO_ROOT

CHECK = """
import inspect, sys
import app.gradio.app, gradio, gradio.component_meta as meta
from app.gradio.import_hook import StubRewriteFinder, no_stub_rewrite
print(meta.create_or_modify_pyi is no_stub_rewrite, gradio.blocks_events.create_or_modify_pyi is no_stub_rewrite)
print(type(gradio.Image()).__name__, hasattr(gradio.Image, "upload"))  # components still get their events
print("def create_pyi" in inspect.getsource(meta), any(isinstance(f, StubRewriteFinder) for f in sys.meta_path))
"""


def test_the_app_imports_gradio_with_stub_rewrites_skipped():
    result = subprocess.run([sys.executable, "-c", CHECK], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    # the module's source is still readable through the wrapped loader, and the hook is gone once used
    assert result.stdout.split() == ["True", "True", "Image", "True", "True", "False"]


def test_the_hook_leaves_every_other_module_alone_and_is_not_installed_late():
    import gradio  # noqa: F401 (imported by now in this process: a hook would come too late)

    from app.gradio.import_hook import StubRewriteFinder, skip_stub_rewrites

    finder = StubRewriteFinder()
    assert finder.find_spec("json", None) is None and finder.find_spec("gradio.blocks", None) is None
    skip_stub_rewrites()
    assert not any(isinstance(f, StubRewriteFinder) for f in sys.meta_path)
