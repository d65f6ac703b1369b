"""The models a Gradio request may use: only listed ones, loaded once and shared, with the TTA choice checked.

Every tab (Upload, Live, Webcam) goes through `predictor_for` and `tta_mode`, so an API caller cannot make the
server open an arbitrary file or pass an unknown mode.
"""

from __future__ import annotations

import functools
from pathlib import Path

from app.gradio.import_hook import skip_stub_rewrites

skip_stub_rewrites()  # before Gradio is first imported: its stub rewrites cost ~1 s a start
import gradio as gr  # noqa: E402

from core.data.preprocessing import TTA_MODES  # noqa: E402
from core.inference.catalog import list_checkpoints  # noqa: E402
from core.inference.predictor import Predictor  # noqa: E402

MODEL_TTA = "model"  # the TTA dropdown's default: whatever TTA the checkpoint records


@functools.lru_cache(maxsize=8)
def cached_predictor(path: str) -> Predictor:
    # shared by every request: a Predictor holds no per-request state (TTA is an argument of predict)
    return Predictor.load(path)


def tta_mode(choice: str | None) -> str | None:
    """The TTA dropdown's value as predict takes it: None (the model's own) or a mode; anything else is refused."""
    if choice in (None, "", MODEL_TTA):
        return None
    if choice not in TTA_MODES:
        raise gr.Error(
            f"Unknown test-time augmentation {choice!r}: use {MODEL_TTA!r} or one of {', '.join(TTA_MODES)}."
        )
    return choice


def predictor_for(model_path: str | None, allowed: frozenset[str]) -> Predictor:
    if not model_path:
        raise gr.Error("No model selected. Train one (python -m core train) or start with --checkpoint PATH.")
    # only listed models: API callers could otherwise make the server open any file. Runs that finished
    # after start-up are in the live catalog (the page lists them on reload)
    if str(model_path) not in allowed and all(str(e.path) != str(model_path) for e in list_checkpoints()):
        raise gr.Error(f"Unknown model {model_path!r}: use one the model list offers.")
    try:
        return cached_predictor(str(model_path))
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise gr.Error(f"Could not load the model {Path(model_path).name}: {exc}") from None
