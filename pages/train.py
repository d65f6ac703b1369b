"""Train page: a form built from TrainConfig, handed to the background runner, with live curves and every run."""

import pandas as pd
import plotly.express as px
import streamlit as st
import torch

from app.state import escape_markdown
from core.training import runner
from core.training.config import AugmentOptions
from core.data.classes import ALL_CLASSES, CLASS_SETS
from core.training.config import LABEL_SOURCES, OPTIMIZERS, SCHEDULES, TTA_MODES, TrainConfig
from core.evaluation.metrics import seed_table
from core.paths import runs_dir
from core.models.registry import list_models
from core.training.run_folder import RunFolder

st.title("Train")
defaults = TrainConfig()
with st.form("train"):
    left, middle, right = st.columns(3)
    model = left.selectbox("Model", list_models(), index=list_models().index(defaults.model))
    class_set = left.selectbox("Classes", [*CLASS_SETS, "custom"])
    custom = left.multiselect("Custom classes (when 'custom')", ALL_CLASSES, default=["happy", "sad", "neutral"])
    labels = left.selectbox("Label source", LABEL_SOURCES)
    epochs = middle.number_input("Epochs", 1, 500, defaults.epochs)
    batch_size = middle.number_input("Batch size", 1, 4096, defaults.batch_size)
    optimizer = middle.selectbox("Optimizer", OPTIMIZERS)
    lr = middle.number_input("Learning rate", 1e-6, 10.0, defaults.lr, format="%.5f")
    schedule = middle.selectbox("Schedule", SCHEDULES)
    gpu = torch.cuda.is_available()
    device = right.selectbox("Device", ["auto", "cpu", "cuda"] if gpu else ["auto", "cpu"],
                             help=f"GPU present: {torch.cuda.get_device_name(0)}" if gpu else "no GPU on this machine")
    right.caption(f"GPU: {'yes, ' + torch.cuda.get_device_name(0) if gpu else 'none here: training runs on the CPU'}")
    tta = right.selectbox("Test-time augmentation", TTA_MODES)
    steps = right.number_input("Max steps per epoch (0 = all; small values for a quick try)", 0, 100_000, 0)
    st.caption("Augmentation")
    toggles = st.columns(5)
    augment = AugmentOptions(
        flip=toggles[0].checkbox("flip", True), shift=0.1 if toggles[1].checkbox("shift", True) else 0.0,
        rotate=10.0 if toggles[2].checkbox("rotate", True) else 0.0,
        scale=0.1 if toggles[3].checkbox("scale", True) else 0.0,
        erase=0.25 if toggles[4].checkbox("random erasing", True) else 0.0,
        brightness=0.2 if toggles[0].checkbox("brightness", True) else 0.0,
        contrast=0.2 if toggles[1].checkbox("contrast", True) else 0.0,
        invert=0.2 if toggles[2].checkbox("invert (seed 003)", False) else 0.0,
        color_jitter=toggles[3].checkbox("strong jitter (seed 003)", False))
    submitted = st.form_submit_button("Start training", type="primary")
if submitted:
    try:
        config = TrainConfig(model=model, classes=",".join(custom) if class_set == "custom" else class_set,
                             labels=labels, epochs=int(epochs), batch_size=int(batch_size), optimizer=optimizer,
                             lr=float(lr), schedule=schedule, device=device, tta=tta, augment=augment,
                             max_steps_per_epoch=int(steps), print_freq=10)
        st.query_params["run"] = runner.start_run(config)
    except ValueError as exc:
        st.error(f"Cannot start: {escape_markdown(exc)}")


def epoch_frame(run_id: str) -> pd.DataFrame:
    records = RunFolder(runs_dir() / run_id, create=False).records("epoch")
    return pd.DataFrame(records).assign(run=run_id) if records else pd.DataFrame()


@st.fragment(run_every="3s")
def live_view(run_id: str) -> None:
    status = runner.status(run_id)
    eta = status.get("eta_seconds")
    st.subheader(f"Run {escape_markdown(run_id)}: {status['state']}")
    if status.get("reason"):
        st.warning(escape_markdown(status["reason"]))
    st.progress(float(status.get("progress") or 0.0),
                text=f"epoch {status.get('epoch', '-')}, step {status.get('step', '-')}/{status.get('steps', '-')}"
                     + (f", about {eta // 60} min {eta % 60} s left" if eta else ""))
    if status["state"] in runner.ACTIVE and st.button("Stop", key=f"stop-{run_id}"):
        runner.stop(run_id)
    frame = epoch_frame(run_id)
    if not frame.empty:
        loss, accuracy, lr = st.columns([2, 2, 1])
        for cell, title, columns in ((loss, "loss", ["train_loss", "public_loss"]),
                                     (accuracy, "accuracy", ["train_accuracy", "public_accuracy"]),
                                     (lr, "learning rate", ["lr"])):
            cell.plotly_chart(px.line(frame, x="epoch", y=columns, markers=True, title=title, height=320)
                              .update_layout(legend_title_text="", yaxis_title=""), width="stretch")
    folder = RunFolder(runs_dir() / run_id, create=False)
    report = folder.report()
    if status["state"] == "finished" and report:
        st.markdown(seed_table(report["reports"]))
        confusion = folder.confusion("PrivateTest")
        if confusion:
            st.image(str(confusion), width=520)


runs = runner.list_runs()
chosen = st.query_params.get("run") or (runs[0]["id"] if runs else None)
if chosen and chosen not in {r["id"] for r in runs}:  # a run id from the URL names a folder: only known ones count
    st.warning(f"There is no run called {escape_markdown(chosen)} in the runs folder.")
    chosen = runs[0]["id"] if runs else None
if chosen:
    live_view(chosen)
if runs:
    st.subheader("All runs")
    table = pd.DataFrame([{"id": r["id"], "state": r.get("state"), "epoch": r.get("epoch"),
                           "progress": r.get("progress")} for r in runs])
    st.dataframe(table, hide_index=True, width="stretch")
    overlay = st.multiselect("Overlay the PublicTest accuracy of", [r["id"] for r in runs])
    frames = [epoch_frame(run_id) for run_id in overlay]
    frames = [f for f in frames if not f.empty]
    if frames:
        st.plotly_chart(px.line(pd.concat(frames), x="epoch", y="public_accuracy", color="run", markers=True),
                        width="stretch")
