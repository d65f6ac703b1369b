"""FER Studio core library: data, class sets, models, training and prediction for FER2013 and FERPlus.

Sub-packages are layers, and a module imports only from its own layer and the ones below (ground modules such as
paths, job_status and device sit here, at the bottom; core.jobs and core.cli at the top). The order is written
once, as LAYERS in tests/test_layers.py, which checks it.
"""

__version__ = "0.1.0"
