"""The live prediction app (Gradio), served as its own process: `python -m app.gradio` (or `python -m app.gradio_app`).

`app` builds the UI and serves it, `models` checks and caches the models requests ask for, `live` is the WebRTC tab
(`webrtc` its peer connections), `import_hook` makes `import gradio` quicker, and `server` starts and finds the
process for the Streamlit studio. This file imports nothing, so the studio can use `server` without Gradio.
"""
