"""`python -m app.gradio_app`: the documented command for the live prediction app, kept; the app is `app.gradio`."""

from app.gradio.app import main

if __name__ == "__main__":
    main()
