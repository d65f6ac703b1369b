"""Labels: the relabel store (events in SQLite), the Relabel queue, exports, label-issue scoring and consensus (the
job that computes out-of-fold probabilities is `core.jobs.label_issues`)."""
