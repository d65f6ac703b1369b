"""Train page: a form built from TrainConfig, handed to the background runner, with live curves and every run."""

import pandas as pd
import plotly.express as px
import streamlit as st
import torch

from app.config_form import config_from_form, config_widgets
from app.state import current_dataset
from app.text import escape_markdown
from core.data.classes import ALL_CLASSES, CLASS_SETS
from core.evaluation.metrics import reference_table
from core.models.registry import list_models
from core.paths import runs_dir
from core.training import runner
from core.training.config import TrainConfig
from core.training.run_folder import RunFolder

st.title("Train")
gpu = torch.cuda.is_available()
st.caption(f"GPU: {'yes, ' + torch.cuda.get_device_name(0) if gpu else 'none here: training runs on the CPU'}")
with st.form("train"):
    # classes is a set name or a custom list, which a single generated widget cannot offer
    left, right = st.columns(2)
    class_set = left.selectbox("classes", [*CLASS_SETS, "custom"], key="train_classes")
    custom = right.multiselect("custom classes (when 'custom')", ALL_CLASSES, key="train_custom_classes")
    # print_freq 10: the live curves below update more often than the CLI's default
    devices = ["auto", "cpu", "cuda"] if gpu else ["auto", "cpu"]
    values = config_widgets(TrainConfig(print_freq=10), skip=("classes",),
                            choices={"model": list_models(), "device": devices})
    submitted = st.form_submit_button("Start training", type="primary")
if submitted:
    try:
        classes = ",".join(custom) if class_set == "custom" else class_set
        config = config_from_form(TrainConfig, {**values, "classes": classes})
        # a run on the imported data set is checked against it first (a class without Training images is refused)
        st.query_params["run"] = runner.start_run(config, dataset=current_dataset() if config.data_path is None
                                                  else None)
    except ValueError as exc:
        st.error(f"Cannot start: {escape_markdown(exc)}")


def epoch_frame(run_id: str) -> pd.DataFrame:
    records = RunFolder(runs_dir() / run_id, create=False).records("epoch")
    return pd.DataFrame(records).assign(run=run_id) if records else pd.DataFrame()


@st.fragment(run_every="3s")
def live_view(run_id: str) -> None:
    status = runner.refresh_status(run_id)
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
        st.markdown(reference_table(report["reports"]))
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
