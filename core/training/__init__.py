"""Training: the config, tensors on the device, the loop, run folders, the background runner and DDP."""
