"""app/gradio_import.py: Gradio is imported without rewriting its type stubs, and works as before."""
from __future__ import annotations

import subprocess
import sys

from core.paths import REPO_ROOT

CHECK = """
import app.gradio_app, gradio, gradio.component_meta as meta
from app.gradio_import import no_stub_rewrite
print(meta.create_or_modify_pyi is no_stub_rewrite, gradio.blocks_events.create_or_modify_pyi is no_stub_rewrite)
print(type(gradio.Image()).__name__, hasattr(gradio.Image, "upload"))  # components still get their events
"""


def test_the_app_imports_gradio_with_stub_rewrites_skipped():
    result = subprocess.run([sys.executable, "-c", CHECK], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "Image", "True"]


def test_the_hook_leaves_every_other_module_alone():
    from app.gradio_import import StubRewriteFinder

    finder = StubRewriteFinder()
    assert finder.find_spec("json", None) is None and finder.find_spec("gradio.blocks", None) is None
