"""`python -m app.gradio`: serve the live prediction app (flags: `python -m app.gradio --help`)."""

from app.gradio.app import main

main()
