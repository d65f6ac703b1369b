"""Predict page: upload a photo or take a webcam snapshot (the latest of the two is shown); the faces found, numbered
in reading order and boxed in the colours of their bars; and the live Gradio app, started when the page loads."""
import os

import streamlit as st

from app import gradio_server
from app.charts import faces_chart
from app.live import live_section
from app.state import current_model_path, current_predictor
from app.text import escape_markdown
from core.data.images import open_image
from core.data.preprocessing import TTA_MODES
from core.errors import DataError
from core.inference.catalog import live_model_choice
from core.inference.draw import annotate
from core.inference.predictor import summary

st.title("Predict")
predictor = current_predictor()
if predictor is None:
    st.warning("No trained model yet: train one on the Train page, then choose it in the sidebar.")
    st.stop()
st.caption(f"Model: {current_model_path()} ({len(predictor.classes)} classes: {', '.join(predictor.classes)})")


def newest(name: str) -> None:
    st.session_state.predict_latest = name  # an on_change callback: the input the person touched last


def live_app_link(state: dict) -> None:
    """The link once the app answers; while it starts, a note (this fragment re-runs every second until then)."""
    status = gradio_server.readiness(state)
    if status == "ready":
        st.link_button("Open the live app", state["url"], type="primary")
        if st.session_state.pop("gradio_waiting", False):
            st.rerun()  # the whole page once more, so this fragment stops polling
    elif status == "starting":
        st.session_state.gradio_waiting = True
        st.button("Open the live app", disabled=True, key="gradio_starting")
        st.caption("Starting the live app in the background (a few seconds, once) ...")
    else:
        st.error(f"The live app stopped while starting. From {gradio_server.log_file()}:")
        st.code(gradio_server.log_tail())


upload_tab, camera_tab = st.tabs(["Upload", "Webcam snapshot"])
upload = upload_tab.file_uploader("An image with faces (or a face crop)", type=None, key="predict_upload",
                                  on_change=newest, args=("upload",))
snapshot = camera_tab.camera_input("Take a picture", key="predict_snapshot", on_change=newest, args=("snapshot",))
inputs = {"upload": upload, "snapshot": snapshot}
latest = st.session_state.get("predict_latest", "upload")
shown = latest if inputs[latest] is not None else next((name for name, v in inputs.items() if v is not None), None)
whole = st.checkbox("The image is already a face crop: classify it whole")
recorded = predictor.preprocessing.tta  # the default everywhere (studio, Gradio, CLI): what the checkpoint records
tta = st.selectbox("Test-time augmentation", TTA_MODES, index=TTA_MODES.index(recorded),
                   format_func=lambda mode: f"{mode} (the model's own)" if mode == recorded else mode,
                   help="flip: also classify the mirrored face; tencrop: also five crops and their mirrors")
if shown is not None:
    try:
        image = open_image(inputs[shown])
        result = predictor.predict(image, whole=True if whole else None, tta=tta)
    except DataError as exc:  # open_image names every problem (empty, not an image, truncated, too large)
        st.error(f"That file cannot be used: {escape_markdown(exc.problem)}")
        st.stop()
    other = {"upload": "webcam snapshot", "snapshot": "upload"}[shown]
    st.caption(f"Showing the {'uploaded image' if shown == 'upload' else 'webcam snapshot'}: the latest input "
               f"(a new {other} replaces it).")
    left, right = st.columns(2)
    left.image(annotate(image, result), caption=result.message, width="stretch")
    right.markdown(summary(result))
    if result.faces:
        right.plotly_chart(faces_chart(result), width="stretch", key="predict_chart")

st.divider()
live_section(current_model_path(), tta)

st.divider()
st.subheader("Live webcam (Gradio app)")
st.write("The Gradio app streams your webcam through the model frame by frame. It runs as its own process on this "
         "machine, started once when this page first loads and found again afterwards.")
st.caption(f"The live default for this CPU: {live_model_choice().reason}.")

autostart = os.environ.get("FER_GRADIO_AUTOSTART", "1") != "0"  # 0: start it only on demand (the tests do)
state = gradio_server.read_state()
if autostart or st.button("Start the live app", key="gradio_start") or (state and gradio_server.is_ours(state)):
    try:
        state = gradio_server.ensure_started(checkpoint=current_model_path())
        polling = gradio_server.readiness(state) == "starting"
        st.fragment(live_app_link, run_every=1.0 if polling else None)(state)
    except RuntimeError as exc:  # the port is served by another program
        st.error(escape_markdown(str(exc)))
st.caption("Open it from this machine at its local address (127.0.0.1). Sharing: `python -m app.gradio_app "
           "--share` asks Gradio's share service for a temporary public link, which needs the internet; without it "
           "the app says so and keeps serving locally. On a local network use `--host 0.0.0.0 --auth user:password`.")
