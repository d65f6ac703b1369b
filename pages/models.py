"""Models page: every registered architecture, with its size and where it comes from."""
import pandas as pd
import streamlit as st

from core.models.registry import list_models, model_spec, parameter_count

st.title("Models")
st.write("The architectures in the model registry; `python -m core models` prints the same list.")
rows = [{"model": name, "parameters (7 classes)": parameter_count(name, num_classes=7),
         "input": f"{model_spec(name).input_size}x{model_spec(name).input_size}",
         "from": model_spec(name).source, "description": model_spec(name).description} for name in list_models()]
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
