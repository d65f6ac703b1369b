"""Inference: preprocessing, face detection, the predictor, drawing, the model catalog, data-set predictions."""
