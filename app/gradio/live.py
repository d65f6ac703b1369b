"""The Gradio app's Live tab: the webcam over WebRTC, annotated on the server (`app.gradio.webrtc`,
`core.inference.live`).

Signalling goes through Gradio's own events, so the queue, `--auth` and the model checks apply as to every other
request: Start runs START_JS in the browser (camera, peer connection, offer), the offer goes to `start_live` on the
server, and APPLY_JS hands the answer back to the peer connection. Media then flows over WebRTC, not through Gradio.
"""

from __future__ import annotations

import functools
import json
import time

from app.gradio.import_hook import skip_stub_rewrites

skip_stub_rewrites()  # before Gradio is first imported: its stub rewrites cost ~1 s a start
import gradio as gr  # noqa: E402

from app.gradio import webrtc
from app.gradio.models import predictor_for, tta_mode
from core.inference.live import LiveAnnotator, live_predictor

VIDEO_ID = "fer-live-video"
VIDEO_HTML = (
    f'<video id="{VIDEO_ID}" autoplay playsinline muted '
    'style="width:100%;max-width:640px;background:#222;aspect-ratio:4/3"></video>'
)

# Runs in the browser before start_live; returns start_live's inputs with the offer in place of the first.
START_JS = (
    """async (offer, model, tta) => {
  const live = window.ferLive || (window.ferLive = {});
  if (live.pc) { live.pc.close(); live.stream && live.stream.getTracks().forEach(t => t.stop()); }
  try {
    const stream = await navigator.mediaDevices.getUserMedia(
      {video: {width: {ideal: 640}, height: {ideal: 480}}, audio: false});
    const pc = new RTCPeerConnection({iceServers: []});  // no STUN/TURN: local connections only
    live.pc = pc; live.stream = stream;
    stream.getVideoTracks().forEach(t => pc.addTrack(t, stream));
    pc.ontrack = (e) => {
      if ('jitterBufferTarget' in e.receiver) e.receiver.jitterBufferTarget = 0;  // show frames as they come
      document.getElementById('%s').srcObject = e.streams[0] || new MediaStream([e.track]);
    };
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise(done => {  // the offer carries every local candidate (no trickle ICE)
      if (pc.iceGatheringState === 'complete') return done();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && done());
      setTimeout(done, 3000);
    });
    return [JSON.stringify({type: 'offer', sdp: pc.localDescription.sdp}), model, tta];
  } catch (err) {
    return [JSON.stringify({error: String(err)}), model, tta];
  }
}"""
    % VIDEO_ID
)

APPLY_JS = """async (answer) => {
  const live = window.ferLive || {};
  if (!answer || !live.pc) return;
  const description = JSON.parse(answer);
  live.id = description.id;
  await live.pc.setRemoteDescription({type: description.type, sdp: description.sdp});
}"""

STOP_JS = (
    """() => {
  const live = window.ferLive || {};
  if (live.pc) live.pc.close();
  if (live.stream) live.stream.getTracks().forEach(t => t.stop());
  const video = document.getElementById('%s');
  if (video) video.srcObject = null;
  const id = live.id || '';
  window.ferLive = {};
  return [id];
}"""
    % VIDEO_ID
)


@functools.lru_cache(maxsize=4)
def cached_live_predictor(path: str):
    return live_predictor(path)


async def start_live(
    offer: str, model_path: str | None, tta: str, *, allowed: frozenset[str] = frozenset()
) -> tuple[str, str, str]:
    """The server's answer to the browser's offer (JSON), the stream's id, and a status line."""
    try:
        description = json.loads(offer or "{}")
    except json.JSONDecodeError:
        raise gr.Error("The browser sent no usable WebRTC offer.") from None
    if description.get("error"):
        raise gr.Error(f"The camera could not be opened: {description['error']}")
    mode = tta_mode(tta)
    predictor_for(model_path, allowed)  # refuses unlisted models, explains unloadable ones
    annotator = LiveAnnotator(cached_live_predictor(str(model_path)), tta=mode)
    try:
        reply = await webrtc.answer(description, annotator)
    except ValueError as exc:
        annotator.close()
        raise gr.Error(str(exc)) from None
    return json.dumps(reply), reply["id"], "Live: connecting ..."


async def stop_live(peer_id: str) -> tuple[str, str]:
    await webrtc.close(peer_id or "")
    return "", "Stopped."


def live_status(peer_id: str) -> str:
    """One line for the page: frames drawn, analyses and faces (refreshed by a timer while a stream runs)."""
    current = webrtc.stats(peer_id or "")
    if current is None:
        return ""
    if current["error"]:
        return f"Live: analysis failed: {current['error']}"
    seconds = max(1e-3, time.monotonic() - current["started"])
    faces = current["faces"]
    return (
        f"Live: {current['frames'] / seconds:.0f} frames a second shown with labels; faces analysed "
        f"{current['analyses'] / seconds:.1f} times a second (the last took {current['analysis_ms']:.0f} ms); "
        f"{faces} face{'' if faces == 1 else 's'}"
    )


def live_tab(model: gr.Dropdown, tta: gr.Dropdown, allowed: frozenset[str]) -> None:
    gr.Markdown(
        "**On this computer or its network:** the webcam streamed over WebRTC and annotated by the server "
        "at camera speed. Through a share link use *In your browser*."
    )
    gr.HTML(VIDEO_HTML)
    with gr.Row():
        start = gr.Button("Start camera", variant="primary")
        stop = gr.Button("Stop")
    status = gr.Markdown(elem_id="fer-live-status")
    offer, reply, peer = gr.Textbox(visible=False), gr.Textbox(visible=False), gr.Textbox(visible=False)
    timer = gr.Timer(2.0)
    start.click(
        functools.partial(start_live, allowed=allowed),
        inputs=[offer, model, tta],
        outputs=[reply, peer, status],
        js=START_JS,
        api_visibility="private",
    ).then(None, inputs=[reply], js=APPLY_JS)
    stop.click(stop_live, inputs=[peer], outputs=[peer, status], js=STOP_JS, api_visibility="private")
    timer.tick(live_status, inputs=[peer], outputs=[status], show_progress="hidden", api_visibility="private")
