"""Predict page: upload a photo (the faces found, numbered in reading order and boxed in the colours of their bars)
or watch the live webcam (one live mode: WebRTC, annotated at camera speed); and the Gradio app, started when the page
loads, for share links."""

import os
import urllib.parse

import streamlit as st

from app.charts import faces_chart
from app.gradio import server as gradio_server
from app.live import live_section, served
from app.polling import poll_while
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


def live_app_link(state: dict) -> None:
    """The link once the app answers; while it starts, a note (redrawn every second until then)."""
    status = gradio_server.readiness(state)
    if status == "ready":
        # the link carries the studio's current model, which the app then picks (app.gradio.app.models_on_load)
        link = f"{state['url']}?{urllib.parse.urlencode({'model': str(current_model_path())})}"
        st.link_button("Open the live app", link, type="primary")
    elif status == "starting":
        st.button("Open the live app", disabled=True, key="gradio_starting")
        st.caption("Starting the live app in the background (a few seconds, once) ...")
    else:
        st.error(f"The live app stopped while starting. From {gradio_server.log_file()}:")
        st.code(gradio_server.log_tail())


recorded = predictor.preprocessing.tta  # the default everywhere (studio, Gradio, CLI): what the checkpoint records
tta = st.selectbox(
    "Test-time augmentation",
    TTA_MODES,
    index=TTA_MODES.index(recorded),
    format_func=lambda mode: f"{mode} (the model's own)" if mode == recorded else mode,
    help="flip: also classify the mirrored face; tencrop: also five crops and their mirrors",
)
upload_tab, live_tab = st.tabs(["Upload", "Live webcam"])
upload = upload_tab.file_uploader("An image with faces (or a face crop)", type=None, key="predict_upload")
whole = upload_tab.checkbox("The image is already a face crop: classify it whole")
if upload is not None:
    try:
        image = open_image(upload)
        result = predictor.predict(image, whole=True if whole else None, tta=tta)
    except DataError as exc:  # open_image names every problem (empty, not an image, truncated, too large)
        upload_tab.error(f"That file cannot be used: {escape_markdown(exc.problem)}")
        result = None  # the live tab below is still drawn
    if result is not None:
        left, right = upload_tab.columns(2)
        left.image(annotate(image, result), caption=result.message, width="stretch")
        right.markdown(summary(result))
        if result.faces:
            right.plotly_chart(faces_chart(result), width="stretch", key="predict_chart")

with live_tab:
    st.caption(
        "Your webcam on this computer or its network, annotated at camera speed. Through a share link use the "
        "Gradio app's *In your browser* tab below."
    )
    live_section(current_model_path(), tta)

st.divider()
st.subheader("The Gradio app (share links)")
st.write(
    "The Gradio app has the same Upload and Live modes, and *In your browser* for share links (the visitor's "
    "browser analyses their webcam; no frame is uploaded). It runs as its own process on this machine, started "
    "once when this page first loads and found again afterwards."
)

st.caption(f"The live default for this CPU: {live_model_choice().reason}.")
# started on load only where a browser can follow the link: not under AppTest, which would leave the app running
# after the test; FER_GRADIO_AUTOSTART=0 starts it only on demand
autostart = served() and os.environ.get("FER_GRADIO_AUTOSTART", "1") != "0"
state = gradio_server.read_state()
if autostart or st.button("Start the live app", key="gradio_start") or (state and gradio_server.is_ours(state)):
    try:
        state = gradio_server.ensure_started(checkpoint=current_model_path())
        if state.get("note"):
            st.info(state["note"])
        poll_while(lambda: gradio_server.readiness(state) == "starting", live_app_link, 1, state)
    except RuntimeError as exc:
        st.error(escape_markdown(str(exc)))
st.caption(
    "Open it from this machine at its local address (127.0.0.1). Sharing: `python -m app.gradio_app "
    "--share` asks Gradio's share service for a temporary public link, which needs the internet; without it "
    "the app says so and keeps serving locally. On a local network use `--host 0.0.0.0 --auth user:password`."
)
