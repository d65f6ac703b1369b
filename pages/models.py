"""Models page: every shipped checkpoint and finished run (accuracy per split, card, confusion matrix, ECE), and
the registered architectures beside them.

The first paint reads only metadata and report files, never torch: the architectures table (it builds each model
to count its parameters) and an evaluation wait for a click.
"""

import pandas as pd
import streamlit as st

from app.state import current_model_path
from app.text import escape_markdown
from core.data.fer2013 import SPLITS
from core.evaluation.card_metrics import card_accuracy
from core.evaluation.report import confusion_image, read_card, read_report, split_summary
from core.inference.catalog import CheckpointEntry, list_checkpoints


def show_report(entry: CheckpointEntry, key: str) -> None:
    """Accuracy and ECE per split and the confusion matrices, or a button that evaluates the checkpoint."""
    report = read_report(entry.path)
    if report is None:
        from_card = card_accuracy(entry.path)
        if from_card is not None:  # shipped and int8 checkpoints carry their full results in their card
            st.dataframe(
                from_card,
                hide_index=True,
                column_config={
                    name: st.column_config.NumberColumn(format="percent")
                    for name in from_card.columns
                    if name != "split"
                },
            )
            st.caption("Accuracy from the model card (evaluated on the full FER2013 import).")
            return
        recorded = ", ".join(
            f"{split} {value:.1%}"
            for split, value in (("PublicTest", entry.public_accuracy), ("PrivateTest", entry.private_accuracy))
            if value is not None
        )
        st.caption(
            ("Accuracy recorded at training: " + recorded + ". " if recorded else "No evaluation yet. ")
            + "`python -m core evaluate` (or the button) evaluates it on every split."
        )
        if st.button("Evaluate on all splits", key=f"models_evaluate_{key}"):
            # lazy: torch, only once someone evaluates
            from core.evaluation.report import write_report
            from core.jobs.label_sources import scoring_data

            with st.spinner(
                f"Evaluating {entry.name} on {', '.join(SPLITS)} (minutes on a CPU: every face, "
                "with the checkpoint's test-time augmentation) ..."
            ):
                write_report(entry.path, list(SPLITS), dataset=scoring_data(entry.path))
            st.rerun()
        return
    rows = pd.DataFrame(split_summary(report)).dropna(axis=1, how="all")
    st.dataframe(
        rows,
        hide_index=True,
        column_config={
            name: st.column_config.NumberColumn(format="percent" if name == "accuracy" else "%.4f")
            for name in rows.columns
            if name not in ("split", "images")
        },
    )
    st.caption(
        f"tta `{report.get('tta')}`, temperature {report.get('temperature', 1.0):.3f}, "
        f"labels {report.get('label_source')}"
    )
    images = {split: confusion_image(entry.path, split) for split in report.get("reports", {})}
    tabs = st.tabs([f"confusion {split}" for split in images])
    for tab, image in zip(tabs, images.values()):
        with tab:
            if image is not None:
                st.image(str(image), width=420)


def show_card(entry: CheckpointEntry) -> None:
    """The model card beside the checkpoint, rendered, with the images it links."""
    card = read_card(entry.path)
    if card is None:
        st.caption("No model card (`python -m core ship --run runs/ID --name NAME` writes one).")
        return
    text, images = card
    with st.expander("Model card"):
        st.markdown(text)
        for image in images:
            st.image(str(image), caption=image.name, width=420)


def show_entry(entry: CheckpointEntry, index: int, current: str | None) -> None:
    """One checkpoint: what it is, its evaluation, its card, and the button that makes it the current model."""
    in_use = str(entry.path) == current
    with st.container(border=True):
        st.markdown(
            f"**{escape_markdown(entry.name)}** — {entry.source}, `{entry.model}`, "
            f"{len(entry.classes)} classes: {escape_markdown(', '.join(entry.classes))}"
            + (" — *current model*" if in_use else "")
        )
        show_report(entry, str(index))
        show_card(entry)
        if st.button("Use this model", key=f"models_use_{index}", disabled=in_use):
            st.query_params["model"] = str(entry.path)
            st.rerun()


st.title("Models")
checkpoint_column, architecture_column = st.columns([3, 2])
with checkpoint_column:
    st.subheader("Checkpoints")
    entries = list_checkpoints()
    if not entries:
        st.info("No checkpoint yet: train one on the Train page.")
    current = current_model_path()
    for number, item in enumerate(entries):
        show_entry(item, number, None if current is None else str(current))
with architecture_column:
    st.subheader("Architectures")
    st.write("The model registry; `python -m core models` prints the same list.")
    if st.toggle("Show the architectures (loads PyTorch to count parameters)", key="models_architectures"):
        from core.models.registry import list_models, model_spec, parameter_count

        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "model": name,
                        "parameters (7 classes)": parameter_count(name, num_classes=7),
                        "input": f"{model_spec(name).input_size}x{model_spec(name).input_size}",
                        "from": model_spec(name).source,
                        "description": model_spec(name).description,
                    }
                    for name in list_models()
                ]
            ),
            hide_index=True,
            width="stretch",
        )
