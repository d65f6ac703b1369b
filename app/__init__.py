"""FER Studio user interfaces: the Streamlit studio (`app/main.py`) and its shared helpers, and the live Gradio app
(`app/gradio/`)."""
