"""Export: ONNX files and the static in-browser app."""
