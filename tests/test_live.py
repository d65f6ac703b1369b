"""The live webcam path: tracking with box smoothing, LiveAnnotator (annotate at once, analyse in the background)
and the WebRTC answer's checks. The browser end to end is in tests/test_live_browser.py."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
from PIL import Image

from app.gradio import webrtc
from core.inference.live import LiveAnnotator, live_predictor
from core.inference.predictor import FacePrediction
from core.inference.tracking import blend_box, smooth_faces
from core.paths import shared_data_dir


def face(box, **probabilities) -> FacePrediction:
    label = max(probabilities, key=probabilities.get)
    return FacePrediction(box, 0.99, probabilities, label, probabilities[label])


def photo_frame() -> np.ndarray:
    path = shared_data_dir() / "photos" / "happy.jpeg"
    if not path.is_file():
        pytest.skip(f"{path} not found (the real photos live in ../shared/data/photos)")
    frame = Image.new("RGB", (640, 480), (90, 100, 110))
    frame.paste(Image.open(path).convert("RGB").resize((200, 200)), (220, 120))
    return np.asarray(frame)


def test_boxes_are_smoothed_only_when_asked_and_new_faces_keep_their_box():
    tracks, faces = smooth_faces([], [face((100, 100, 200, 200), happy=1.0)], box_weight=0.5)
    assert faces[0].box == (100, 100, 200, 200)  # nothing to blend with yet
    tracks, faces = smooth_faces(tracks, [face((110, 100, 210, 200), happy=1.0)], box_weight=0.5)
    assert faces[0].box == pytest.approx((105, 100, 205, 200))
    _, faces = smooth_faces(tracks, [face((110, 100, 210, 200), happy=1.0)])
    assert faces[0].box == (110, 100, 210, 200)  # the default (the polling path) keeps the detector's box
    assert blend_box(None, (1, 2, 3, 4)) == (1, 2, 3, 4) and blend_box((1, 2, 3, 4), None) is None


def test_the_annotator_draws_at_once_and_labels_the_face_after_its_analysis(tiny_checkpoint):
    frame = photo_frame()
    annotator = LiveAnnotator(live_predictor(str(tiny_checkpoint)), tta="none")
    try:
        first = annotator.annotate(frame)  # no analysis yet: the frame comes back as it is, without waiting
        assert first is frame and annotator.stats.frames == 1
        assert annotator.wait_for_analysis(1, timeout=120), annotator.stats
        assert annotator.stats.faces == 1 and not annotator.stats.error
        drawn = annotator.annotate(frame)
        assert drawn.shape == frame.shape and drawn.dtype == np.uint8 and not np.array_equal(drawn, frame)
        x0, y0, x1, y1 = annotator.faces[0].box
        assert 220 <= (x0 + x1) / 2 <= 420 and 120 <= (y0 + y1) / 2 <= 320  # the box is on the pasted face
        for _ in range(3):  # more frames: the history grows, the box stays on the face
            annotator.annotate(frame)
            assert annotator.wait_for_analysis(annotator.stats.analyses + 1, timeout=120)
        assert len(annotator._tracks[0].history) >= 2
    finally:
        annotator.close()


def test_the_annotator_refuses_what_is_not_an_rgb_frame(tiny_checkpoint):
    annotator = LiveAnnotator(live_predictor(str(tiny_checkpoint)))
    try:
        for bad in (np.zeros((48, 48), np.uint8), np.zeros((48, 48, 4), np.uint8), np.zeros((48, 48, 3), np.float32)):
            with pytest.raises(ValueError, match="RGB uint8"):
                annotator.annotate(bad)
    finally:
        annotator.close()


def test_close_with_a_wait_returns_once_the_analysis_thread_has_ended(tiny_checkpoint):
    annotator = LiveAnnotator(live_predictor(str(tiny_checkpoint)))
    annotator.annotate(np.zeros((240, 320, 3), np.uint8))  # an analysis may be running when close is called
    assert annotator.close(wait=30) and not annotator._thread.is_alive()


def test_a_bad_offer_is_a_clear_error_and_leaves_no_peer(tiny_checkpoint):
    annotator = LiveAnnotator(live_predictor(str(tiny_checkpoint)))
    try:
        for offer in ({}, {"type": "answer", "sdp": "v=0"}, "not a dict"):
            with pytest.raises(ValueError, match="expected a WebRTC offer"):
                asyncio.run(webrtc.answer(offer, annotator))
        with pytest.raises(ValueError, match="no video track"):
            asyncio.run(webrtc.answer({"type": "offer", "sdp": "garbage"}, annotator))
        with pytest.raises(ValueError, match="could not answer the offer"):
            asyncio.run(webrtc.answer({"type": "offer", "sdp": "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"}, annotator))
        assert webrtc.PEERS == {} and webrtc.stats("nobody") is None
    finally:
        annotator.close()


def test_a_camera_the_browser_could_not_open_is_reported(tiny_checkpoint):
    import gradio as gr

    from app.gradio.live import start_live

    offer = json.dumps({"error": "NotAllowedError: Permission denied"})
    with pytest.raises(gr.Error, match="camera could not be opened"):
        asyncio.run(start_live(offer, str(tiny_checkpoint), "model", allowed=frozenset({str(tiny_checkpoint)})))
    with pytest.raises(gr.Error, match="Unknown model"):
        asyncio.run(start_live(json.dumps({"type": "offer", "sdp": "x"}), "/etc/passwd", "model"))
