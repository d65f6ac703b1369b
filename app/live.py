"""The Predict page's live mode: the webcam over WebRTC (streamlit-webrtc + aiortc), each frame annotated with
`core.inference.live.LiveAnnotator`, the same live path as the Gradio app's Live tab.

No STUN/TURN server is asked for (empty iceServers): the studio is used on this machine or its local network.
"""

from __future__ import annotations

from pathlib import Path

import av
import streamlit as st

from core.inference.live import LiveAnnotator, live_predictor

RTC_CONFIGURATION = {"iceServers": []}  # without this streamlit-webrtc would fetch STUN/TURN servers from the internet
CAMERA = {"video": {"width": {"ideal": 640}, "height": {"ideal": 480}}, "audio": False}


@st.cache_resource(show_spinner=False)
def cached_live_predictor(path: str):
    return live_predictor(path)


def session_annotator(path: Path, tta: str | None) -> LiveAnnotator:
    """This browser session's annotator for the chosen model and TTA; a change of either replaces it."""
    key = (str(path), tta)
    current = st.session_state.get("live_annotator")
    if current is None or current[0] != key:
        if current is not None:
            current[1].close()
        current = (key, LiveAnnotator(cached_live_predictor(str(path)), tta=tta))
        st.session_state["live_annotator"] = current
    return current[1]


def served() -> bool:
    """True under `streamlit run`; False in AppTest, whose mock runtime has no sessions for streamlit-webrtc."""
    from streamlit.runtime import Runtime

    # AppTest's runtime is a Mock with Runtime's spec (so isinstance passes); it lacks the session manager that
    # streamlit-webrtc reaches for, which is what tells the two apart
    return Runtime.exists() and getattr(Runtime.instance(), "_session_mgr", None) is not None


def live_section(path: Path | None, tta: str | None) -> None:
    """A "Live webcam" section: Start streams the camera; boxes and labels come back on every frame."""
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    st.subheader("Live webcam")
    if path is None:
        return
    if not served():
        st.info("The live webcam needs the studio served by `streamlit run` (it opens its own WebRTC connection).")
        return
    annotator = session_annotator(path, tta)

    # async: on streamlit-webrtc's worker thread. Its answer to each frame is the previous frame's result (one frame
    # late), but the synchronous mode draws on Streamlit's own event loop and falls behind the camera: measured
    # camera -> screen 970 ms (1 face) and 189 ms (6) against about 150 ms here (bench/bench_live.py)
    def annotate_frame(frame: av.VideoFrame) -> av.VideoFrame:
        return av.VideoFrame.from_ndarray(annotator.annotate(frame.to_ndarray(format="rgb24")), format="rgb24")

    st.caption(
        "Every frame comes back annotated; faces are detected and classified in the background on the "
        "newest frame, and each face's label is averaged over its last detections."
    )
    context = webrtc_streamer(
        key="live",
        mode=WebRtcMode.SENDRECV,
        rtc_configuration=RTC_CONFIGURATION,
        media_stream_constraints=CAMERA,
        video_frame_callback=annotate_frame,
        async_processing=True,
    )
    if context.state.playing:
        stats = annotator.stats
        st.caption(
            f"{stats.analyses} analyses so far (last {stats.analysis_ms:.0f} ms, {stats.faces} face(s))"
            + (f"; analysis failed: {stats.error}" if stats.error else "")
        )
