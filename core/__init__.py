"""FER Studio core library: data, class sets, models, training and prediction for FER2013 and FERPlus."""

__version__ = "0.1.0"
