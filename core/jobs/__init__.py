"""Every background process, and the choice of which stored results a run consumes.

`runner` starts, queues, stops and lists training runs and `worker` is the process of one; `prediction_job` predicts
a whole data set in the background; `label_issues` runs the K-fold cross-validation behind label quality and reads
its results; `label_sources` hands a run the labels its config asks for (relabeled, cleaned, consensus); `ship_oof`
ships the out-of-fold probabilities. Their status.json follows `core.job_status`.
"""
