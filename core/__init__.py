"""FER Studio core library: data, class sets, models, training and prediction for FER2013 and FERPlus.

Layers, lowest first (tests/test_layers.py checks them): the modules here (paths, files, processes, progress,
job_status, device, options, run_folder, checkpoint_format, errors) < data < models < training, inference,
evaluation, labels, export < jobs < cli. A module imports only from its own layer and the ones below.
"""

__version__ = "0.1.0"
