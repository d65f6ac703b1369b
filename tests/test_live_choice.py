"""The live default chosen from the CPU's features (core/inference/catalog.live_model_choice)."""

from __future__ import annotations

import shutil

from core.inference import catalog


def test_the_choice_names_the_model_and_the_cpu_kind():
    with_dot, without = catalog.live_model_choice(True), catalog.live_model_choice(False)
    assert with_dot.name == catalog.LIVE_MODEL and "VNNI" in with_dot.reason
    assert without.name == catalog.LIVE_MODEL_WITHOUT_INT8_DOT and "no int8 dot-product" in without.reason
    assert catalog.live_model_choice().name in (with_dot.name, without.name)


def test_the_live_default_is_the_choice_for_this_cpu(tmp_path, monkeypatch):
    shipped = catalog.CHECKPOINTS_DIR
    for name in ("fer2013_fernet_int8.onnx", "fer2013_fernet_tiny_int8.onnx"):
        shutil.copyfile(shipped / name, tmp_path / name)
    monkeypatch.setattr(catalog, "live_model_choice", lambda: catalog.LiveChoice("fer2013_fernet_tiny_int8", "x"))
    assert catalog.default_live_checkpoint(tmp_path, tmp_path / "runs") == tmp_path / "fer2013_fernet_tiny_int8.onnx"
    monkeypatch.setattr(catalog, "live_model_choice", lambda: catalog.LiveChoice("not_shipped", "x"))
    assert catalog.default_live_checkpoint(tmp_path, tmp_path / "runs") == tmp_path / "fer2013_fernet_int8.onnx"
