"""Train page: a form built from TrainConfig, handed to the background runner; a run picker, the picked run's live
view (phase, progress, step and epoch curves, Stop / Resume) and every run's state."""

import pandas as pd
import plotly.express as px
import streamlit as st
import torch

from app import auth
from app.charts import curve_chart
from app.config_form import config_from_form, config_widgets
from app.polling import poll_while
from app.state import current_dataset
from app.text import escape_markdown, eta_text
from core import job_status
from core.data.classes import ALL_CLASSES, CLASS_SETS
from core.evaluation.metrics import reference_table
from core.jobs import runner
from core.jobs.label_sources import check_trainable
from core.models.registry import list_models
from core.paths import runs_dir
from core.run_folder import RunFolder
from core.training.config import TrainConfig
from core.training.curves import epoch_curve, step_curve

st.title("Train")
gpu = torch.cuda.is_available()
st.caption(f"GPU: {'yes, ' + torch.cuda.get_device_name(0) if gpu else 'none here: training runs on the CPU'}")
with st.form("train"):
    # classes is a set name or a custom list, which a single generated widget cannot offer
    left, right = st.columns(2)
    class_set = left.selectbox("classes", [*CLASS_SETS, "custom"], key="train_classes")
    custom = right.multiselect("custom classes (when 'custom')", ALL_CLASSES, key="train_custom_classes")
    # print_freq 10: the step-level loss below updates more often than the CLI's default (and every epoch logs its
    # first step, so its first point comes one step after the start)
    devices = ["auto", "cpu", "cuda"] if gpu else ["auto", "cpu"]
    values = config_widgets(TrainConfig(print_freq=10), skip=("classes",),
                            choices={"model": list_models(), "device": devices})
    submitted = st.form_submit_button("Start training", type="primary")
if submitted:
    try:
        classes = ",".join(custom) if class_set == "custom" else class_set
        config = config_from_form(TrainConfig, {**values, "classes": classes})
        # a run on the imported data set is checked against it first (a class without Training images is refused)
        st.query_params["run"] = auth.start_run(config, dataset=current_dataset() if config.data_path is None
                                                else None)
    except (ValueError, auth.NotAllowed) as exc:
        st.error(f"Cannot start: {escape_markdown(exc)}")


PHASE_TEXT = {job_status.QUEUED: "Waiting for its turn on the device.",
              job_status.STOPPING: "Stopping: the current step finishes and last.pt is saved; Resume continues from "
                                   "it.",
              job_status.EVALUATING: "Training is done. Evaluating best.pt on every split; on the CPU this takes a few "
                                     "minutes, and the results appear here when it is done.",
              job_status.HELDOUT: "Training is done. Predicting the held-out fold with best.pt."}


def progress_text(status: dict, phase: str) -> str:
    """The progress bar's words: epoch and step, and the ETA while training."""
    eta = status.get("eta_seconds") if phase == job_status.TRAINING else None
    return (f"epoch {status.get('epoch', '-')}, step {status.get('step', '-')}/{status.get('steps', '-')}"
            + (f", {eta_text(eta)}" if eta else ""))


def resume(run_id: str) -> None:
    """Resume's on_click: before the rerun, so the view that follows shows the run queued (or why it could not)."""
    try:
        auth.resume_run(run_id)  # checks the role: the owner or an admin
    except (ValueError, auth.NotAllowed) as exc:
        st.session_state["train_resume_error"] = f"Cannot resume: {exc}"


def stop(run_id: str) -> None:
    """Stop's on_click: only the run's owner or an admin (checked in auth.stop_run, whoever sends the click)."""
    try:
        auth.stop_run(run_id)
    except (ValueError, auth.NotAllowed) as exc:
        st.session_state["train_resume_error"] = f"Cannot stop: {exc}"


def controls(run_id: str, status: dict) -> None:
    """Stop for an active run, Resume for a stopped or failed one that has a last.pt."""
    last = RunFolder(runs_dir() / run_id, create=False).last
    mine = auth.may_control(run_id)
    if status["state"] in job_status.ACTIVE and not status.get("stop_requested"):
        st.button("Stop", key="train_stop", on_click=stop, args=(run_id,), disabled=not mine,
                  help=None if mine else "Only the person who started this run, or an admin, may stop it.")
    if status["state"] in job_status.ENDED_EARLY and last.is_file() and mine:
        st.button("Resume", key="train_resume", type="primary", on_click=resume, args=(run_id,))
    if "train_resume_error" in st.session_state:
        st.error(escape_markdown(st.session_state.pop("train_resume_error")))


def curves(run_id: str) -> None:
    """The step-level loss and the epoch curves (loss, accuracy, learning rate)."""
    steps, epochs = step_curve(runs_dir() / run_id), epoch_curve(runs_dir() / run_id)
    if steps.empty and epochs.empty:
        return
    loss, accuracy, lr = st.columns([2, 2, 1])
    loss.plotly_chart(curve_chart(epochs, ["train_loss", "public_loss"], "loss", steps), width="stretch")
    if not epochs.empty:
        accuracy.plotly_chart(curve_chart(epochs, ["train_accuracy", "public_accuracy"], "accuracy"), width="stretch")
        lr.plotly_chart(curve_chart(epochs, ["lr"], "learning rate"), width="stretch")


def runs_table() -> None:
    """Every run's state and phase, read afresh on each refresh of the live view."""
    rows = [{"id": r["id"], "state": r.get("state"), "phase": job_status.phase(r), "epoch": r.get("epoch"),
             "progress": r.get("progress")} for r in runner.list_runs()]
    st.subheader("All runs")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def any_run_active() -> bool:
    """Whether any run is queued or running (the live view polls only then)."""
    return any(r.get("state") in job_status.ACTIVE for r in runner.list_runs())


def run_view(run_id: str) -> None:
    """One refresh of the live view: the picked run as it goes, then every run."""
    status = runner.refresh_status(run_id)
    phase = job_status.phase(status)
    doing = f" ({phase})" if phase != status["state"] else ""
    st.subheader(f"Run {escape_markdown(run_id)}: {status['state']}{doing}")
    if status.get("reason"):
        st.warning(escape_markdown(status["reason"]))
    if phase in PHASE_TEXT:
        st.info(PHASE_TEXT[phase])
    st.progress(min(float(status.get("progress") or 0.0), 1.0), text=progress_text(status, phase))
    controls(run_id, status)
    curves(run_id)
    folder = RunFolder(runs_dir() / run_id, create=False)
    report = folder.report()
    if status["state"] == job_status.FINISHED and report:
        st.markdown(reference_table(report["reports"]))
        confusion = folder.confusion("PrivateTest")
        if confusion:
            st.image(str(confusion), width=520)
    runs_table()


def pick_run(ids: list[str]) -> str:
    """A selectbox of runs, kept in the URL's ?run= (a run id from the URL names a folder: only known ones count)."""
    chosen = st.query_params.get("run")
    st.session_state["train_run"] = chosen if chosen in ids else ids[0]
    picked = st.selectbox("Run", ids, key="train_run",
                          on_change=lambda: st.query_params.update(run=st.session_state["train_run"]))
    return picked


runs = runner.list_runs()
if st.query_params.get("run") and st.query_params["run"] not in {r["id"] for r in runs}:
    st.warning(f"There is no run called {escape_markdown(st.query_params['run'])} in the runs folder.")
if runs:
    # only the live view reruns, every 2 s while a run is queued or running
    poll_while(any_run_active, run_view, 2, pick_run([r["id"] for r in runs]))
    overlay = st.multiselect("Overlay the PublicTest accuracy of", [r["id"] for r in runs])
    frames = [epoch_curve(runs_dir() / run_id).assign(run=run_id) for run_id in overlay]
    frames = [f for f in frames if "public_accuracy" in f]
    if frames:
        st.plotly_chart(px.line(pd.concat(frames), x="x", y="public_accuracy", color="run", markers=True,
                                labels={"x": "epoch"}), width="stretch")
