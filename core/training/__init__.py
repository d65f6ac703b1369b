"""Training: the config, tensors on the device, the loop, cross-validation folds, curves and DDP (the background
runs that use them are `core.jobs`)."""
