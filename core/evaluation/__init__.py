"""Evaluation: metrics, evaluating a checkpoint, reports and model cards."""
