"""Predict page: upload a photo or take a webcam snapshot; the faces found, boxed, with their probabilities."""
import pandas as pd
import plotly.express as px
import streamlit as st

from app.live import live_section
from app.state import current_model_path, current_predictor
from app.text import escape_markdown
from core.inference.draw import annotate
from core.errors import DataError
from core.data.images import open_image
from core.data.preprocessing import TTA_MODES
from core.inference.predictor import summary

st.title("Predict")
predictor = current_predictor()
if predictor is None:
    st.warning("No trained model yet: train one on the Train page, then choose it in the sidebar.")
    st.stop()
st.caption(f"Model: {current_model_path()} ({len(predictor.classes)} classes: {', '.join(predictor.classes)})")

upload_tab, camera_tab = st.tabs(["Upload", "Webcam snapshot"])
upload = upload_tab.file_uploader("An image with faces (or a face crop)", type=None, key="predict_upload")
snapshot = camera_tab.camera_input("Take a picture")
source = upload or snapshot
whole = st.checkbox("The image is already a face crop: classify it whole")
recorded = predictor.preprocessing.tta  # the default: what the checkpoint was evaluated with
tta = st.selectbox("Test-time augmentation", TTA_MODES, index=TTA_MODES.index(recorded),
                   format_func=lambda mode: f"{mode} (the model's own)" if mode == recorded else mode,
                   help="flip: also classify the mirrored face; tencrop: also five crops and their mirrors")
if source is not None:
    try:
        image = open_image(source)
        result = predictor.predict(image, whole=True if whole else None, tta=tta)
    except DataError as exc:  # open_image names every problem (empty, not an image, truncated, too large)
        st.error(f"That file cannot be used: {escape_markdown(exc.problem)}")
        st.stop()
    left, right = st.columns(2)
    left.image(annotate(image, result), caption=result.message, width="stretch")
    right.markdown(summary(result))
    if result.faces:
        rows = [{"face": f"face {i}", "class": c, "probability": p}
                for i, face in enumerate(result.faces, 1) for c, p in face.probabilities.items()]
        right.plotly_chart(px.bar(pd.DataFrame(rows), x="class", y="probability", color="face", barmode="group"),
                           width="stretch")

st.divider()
live_section(current_model_path(), tta)

st.divider()
st.subheader("Live webcam and a shareable link")
st.write("The Gradio app streams your webcam through the model frame by frame. It runs as its own process, "
         "started once and found again.")
if st.button("Open the live app"):
    from app.gradio_server import ensure_gradio

    try:
        with st.spinner("Starting the Gradio app (first time only) ..."):
            url = ensure_gradio(checkpoint=current_model_path())
        st.link_button("Go to the live app", url)
    except RuntimeError as exc:
        st.error(str(exc))
