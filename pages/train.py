"""Train page: a form built from TrainConfig, handed to the background runner; a run picker, the picked run's live
view (phase, progress, step and epoch curves, Stop / Resume) and every run's state."""

import pandas as pd
import plotly.express as px
import streamlit as st
import torch

from app import auth
from app.charts import curve_chart
from app.config_form import config_from_form, config_widgets
from app.state import current_dataset, current_model_path
from app.text import escape_markdown, eta_text
from core import job_status
from core.data.classes import ALL_CLASSES, CLASS_SETS
from core.errors import DataError
from core.evaluation.metrics import reference_table
from core.jobs import runner
from core.jobs.run_table import delete_run, run_rows
from core.models.registry import list_models
from core.paths import runs_dir
from core.run_folder import RunFolder
from core.training.config import TrainConfig
from core.training.curves import epoch_curve, step_curve

st.title("Train")
gpu = torch.cuda.is_available()
form_column, live_column = st.columns([1, 1], gap="large")  # the live view beside the form: in sight after Start
with form_column:
    st.caption(f"GPU: {'yes, ' + torch.cuda.get_device_name(0) if gpu else 'none here: training runs on the CPU'}")
    # classes is a set name or a custom list, which a single generated widget cannot offer
    left, right = st.columns(2)
    class_set = left.selectbox("Classes", [*CLASS_SETS, "custom"], key="train_classes")
    custom = right.multiselect("Custom classes (with 'custom')", ALL_CLASSES, key="train_custom_classes")
    # print_freq 10: the step-level loss updates more often than the CLI's default (and every epoch logs its first
    # step, so its first point comes one step after the start)
    defaults, devices = TrainConfig(print_freq=10), ["auto", "cpu", "cuda"] if gpu else ["auto", "cpu"]
    choices = {"model": list_models(), "device": devices}
    values = config_widgets(defaults, skip=("classes",), choices=choices, advanced=False, columns=2)
    name = st.text_input(
        "Run name (optional: letters, digits, '.', '_', '-')", key="train_name", placeholder="e.g. fernet-ferplus-30ep"
    )
    with st.expander("Advanced"):  # only the options that apply to the choices above and in here
        values |= config_widgets(defaults, skip=("classes",), choices=choices, advanced=True, known=values)
    submitted = st.button("Start training", type="primary", key="train_start")
    if submitted:
        try:
            classes = ",".join(custom) if class_set == "custom" else class_set
            config = config_from_form(TrainConfig, {**values, "classes": classes})
            # a run on the imported data set is checked against it first (a class without Training images is
            # refused); a named run must be a plain folder name that is not taken
            st.query_params["run"] = auth.start_run(
                config, run_id=name.strip() or None, dataset=current_dataset() if config.data_path is None else None
            )
        except (ValueError, DataError, auth.NotAllowed) as exc:
            st.error(f"Cannot start: {escape_markdown(exc)}")


PHASE_TEXT = {
    job_status.QUEUED: "Waiting for its turn on the device.",
    job_status.STOPPING: "Stopping: the current step finishes and last.pt is saved; Resume continues from it.",
    job_status.EVALUATING: "Training is done. Evaluating best.pt on every split; on the CPU this takes a few "
    "minutes, and the results appear here when it is done.",
    job_status.HELDOUT: "Training is done. Predicting the held-out fold with best.pt.",
}


def progress_text(status: dict, phase: str) -> str:
    """The progress bar's words: epoch and step, and the ETA while training."""
    eta = status.get("eta_seconds") if phase in (job_status.TRAINING, job_status.EVALUATING) else None
    return f"epoch {status.get('epoch', '-')}, step {status.get('step', '-')}/{status.get('steps', '-')}" + (
        f", {eta_text(eta)}" if eta else ""
    )


def resume(run_id: str) -> None:
    """Resume's on_click: before the rerun, so the view that follows shows the run queued (or why it could not)."""
    try:
        auth.resume_run(run_id)  # checks the role: the owner or an admin
    except (ValueError, auth.NotAllowed) as exc:
        st.session_state["train_resume_error"] = f"Cannot resume: {exc}"


def use_model(best: str) -> None:
    st.query_params["model"] = best  # the studio-wide model, kept across pages (app/url_state.py)


def stop(run_id: str) -> None:
    """Stop's on_click: only the run's owner or an admin (checked in auth.stop_run, whoever sends the click)."""
    try:
        auth.stop_run(run_id)
    except (ValueError, auth.NotAllowed) as exc:
        st.session_state["train_resume_error"] = f"Cannot stop: {exc}"


def delete(run_id: str) -> None:
    """Delete's on_click: only the run's owner or an admin; the folder goes, and the picker moves to another run."""
    try:
        auth.require_control(run_id)
        delete_run(run_id)
        st.query_params.pop("run", None)
        st.session_state.pop("train_run", None)
    except (ValueError, auth.NotAllowed) as exc:
        st.session_state["train_resume_error"] = f"Cannot delete: {exc}"


def controls(run_id: str, status: dict) -> None:
    """Stop for an active run, Resume for a stopped or failed one that has a last.pt, "Use this model" for a
    finished one, Delete (confirmed) for any run that is not active."""
    folder = RunFolder(runs_dir() / run_id, create=False)
    row, mine = st.container(horizontal=True), auth.may_control(run_id)
    if status["state"] in job_status.ACTIVE and not status.get("stop_requested"):
        row.button(
            "Stop",
            key="train_stop",
            on_click=stop,
            args=(run_id,),
            disabled=not mine,
            help=None if mine else "Only the person who started this run, or an admin, may stop it.",
        )
    if status["state"] in job_status.ENDED_EARLY and folder.last.is_file() and mine:
        row.button("Resume", key="train_resume", type="primary", on_click=resume, args=(run_id,))
    if status["state"] == job_status.FINISHED and folder.best.is_file():
        in_use = str(current_model_path()) == str(folder.best)
        row.button(
            "Using this model" if in_use else "Use this model",
            key="train_use",
            disabled=in_use,
            on_click=use_model,
            args=(str(folder.best),),
        )
    if status["state"] not in job_status.ACTIVE and mine:
        with row.popover("Delete", key="train_delete_menu"):
            st.write(f"Delete run {escape_markdown(run_id)} and its checkpoints for good?")
            st.button("Delete the run", key="train_delete", type="primary", on_click=delete, args=(run_id,))
    if "train_resume_error" in st.session_state:
        st.error(escape_markdown(st.session_state.pop("train_resume_error")))


def curves(run_id: str) -> None:
    """The step-level loss and the epoch curves (loss, accuracy, learning rate)."""
    steps, epochs = step_curve(runs_dir() / run_id), epoch_curve(runs_dir() / run_id)
    if steps.empty and epochs.empty:
        return
    loss, accuracy = st.columns(2)  # the learning rate is in the run's metrics.jsonl; the view stays narrow
    loss.plotly_chart(curve_chart(epochs, ["train_loss", "public_loss"], "loss", steps, height=280), width="stretch")
    if not epochs.empty:
        accuracy.plotly_chart(
            curve_chart(epochs, ["train_accuracy", "public_accuracy"], "accuracy", height=280), width="stretch"
        )


def runs_table() -> None:
    """Every run: what it trained and how it went, read afresh on each refresh of the live view."""
    rows = run_rows()
    st.subheader("All runs")
    st.dataframe(
        pd.DataFrame(rows).drop(columns="has model"),
        hide_index=True,
        width="stretch",
        column_config={"best PublicTest": st.column_config.NumberColumn(format="percent")},
    )


def any_run_active() -> bool:
    """Whether any run is queued or running (the live view polls only then)."""
    return any(r.get("state") in job_status.ACTIVE for r in runner.list_runs())


def live_view(run_id: str) -> None:
    """The picked run as it goes (beside the form), then every run (below): only these parts rerun, every 2 s
    while a run is queued or running; once none is, the page reruns whole and stops polling (an idle page does no
    work)."""
    polling = any_run_active()
    with live_column:
        st.fragment(run_view, run_every="2s" if polling else None)(run_id, polling)
    st.fragment(runs_table, run_every="2s" if polling else None)()


def run_view(run_id: str, polling: bool) -> None:
    """One refresh of the live view; `polling` says whether this fragment was built to poll."""
    if polling != any_run_active():
        st.rerun()  # a run ended (stop polling) or was resumed from this view (start): the whole page once more
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
    if status["state"] == "finished" and report:
        st.markdown(reference_table(report["reports"]))
        confusion = folder.confusion("PrivateTest")
        if confusion:
            st.image(str(confusion), width=520)


def pick_run(ids: list[str]) -> str:
    """A selectbox of runs, kept in the URL's ?run= (a run id from the URL names a folder: only known ones count)."""
    chosen = st.query_params.get("run")
    st.session_state["train_run"] = chosen if chosen in ids else ids[0]
    picked = st.selectbox(
        "Run", ids, key="train_run", on_change=lambda: st.query_params.update(run=st.session_state["train_run"])
    )
    return picked


runs = runner.list_runs()
if st.query_params.get("run") and st.query_params["run"] not in {r["id"] for r in runs}:
    st.warning(f"There is no run called {escape_markdown(st.query_params['run'])} in the runs folder.")
if not runs:
    live_column.info("A run's progress, curves and results show here once you start one.")
else:
    with live_column:
        picked = pick_run([r["id"] for r in runs])
    live_view(picked)
    overlay = st.multiselect("Overlay the PublicTest accuracy of", [r["id"] for r in runs])
    frames = [epoch_curve(runs_dir() / run_id).assign(run=run_id) for run_id in overlay]
    frames = [f for f in frames if "public_accuracy" in f]
    if frames:
        st.plotly_chart(
            px.line(pd.concat(frames), x="x", y="public_accuracy", color="run", markers=True, labels={"x": "epoch"}),
            width="stretch",
        )
