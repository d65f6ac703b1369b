"""WebRTC for the live mode (aiortc): the browser sends its camera, the server sends back the annotated video.

`answer(offer, annotator)` takes the browser's SDP offer and returns the server's answer; from then on the media
flows peer to peer over UDP, with no frame polling. No STUN or TURN server is used (empty iceServers): the app
is reached on this machine or its local network, where host candidates connect.

The returned track always annotates the newest received frame: frames that arrive while one is being drawn are
skipped, so a slow moment delays one frame instead of queueing every frame after it.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame

from core.inference.live import LiveAnnotator

MAX_PEERS = 4  # live streams served at once; each costs a video decoder, an encoder and an analysis thread
PEERS: dict[str, tuple[RTCPeerConnection, LiveAnnotator]] = {}


class AnnotatedTrack(MediaStreamTrack):
    """The browser's video track, each frame annotated by `annotator` (off the event loop)."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack, annotator: LiveAnnotator):
        super().__init__()
        self.source, self.annotator = source, annotator
        self._latest: VideoFrame | None = None
        self._ready = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            while True:
                self._latest = await self.source.recv()
                self._ready.set()
        except MediaStreamError:  # the browser stopped its camera or left
            self._latest = None
            self._ready.set()

    async def recv(self) -> VideoFrame:
        await self._ready.wait()
        self._ready.clear()
        frame = self._latest
        if frame is None:
            self.stop()
            raise MediaStreamError
        out = await asyncio.get_running_loop().run_in_executor(None, self._draw, frame)
        out.pts, out.time_base = frame.pts, frame.time_base
        return out

    def _draw(self, frame: VideoFrame) -> VideoFrame:
        return VideoFrame.from_ndarray(self.annotator.annotate(frame.to_ndarray(format="rgb24")), format="rgb24")

    def stop(self) -> None:
        self._reader.cancel()
        super().stop()


async def answer(offer: dict[str, Any], annotator: LiveAnnotator) -> dict[str, str]:
    """The answer {"sdp", "type", "id"} to a browser's offer {"sdp", "type"}; ValueError for a bad offer."""
    if not isinstance(offer, dict) or offer.get("type") != "offer" or not isinstance(offer.get("sdp"), str):
        raise ValueError("expected a WebRTC offer {'type': 'offer', 'sdp': ...}")
    if "m=video" not in offer["sdp"]:  # aiortc would answer an offer without media, and nothing would flow
        raise ValueError("the offer has no video track: the browser sent no camera")
    if len(PEERS) >= MAX_PEERS:
        raise ValueError(f"already {MAX_PEERS} live streams: stop one first")
    peer_id = uuid.uuid4().hex
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    PEERS[peer_id] = (pc, annotator)

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if track.kind == "video":
            pc.addTrack(AnnotatedTrack(track, annotator))

    @pc.on("connectionstatechange")
    async def on_state() -> None:
        if pc.connectionState in ("failed", "closed"):
            await close(peer_id)

    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())  # aiortc gathers its candidates here
    except Exception as exc:  # noqa: BLE001 - aiortc raises several types for a malformed SDP
        await close(peer_id)
        raise ValueError(f"could not answer the offer: {exc}") from None
    return {"sdp": pc.localDescription.sdp, "type": pc.localDescription.type, "id": peer_id}


async def close(peer_id: str) -> bool:
    """End one live stream (its connection and analysis thread); True when it existed."""
    entry = PEERS.pop(peer_id, None)
    if entry is None:
        return False
    pc, annotator = entry
    annotator.close()
    await pc.close()
    return True


def stats(peer_id: str) -> dict[str, Any] | None:
    """The stream's LiveStats as a dict, None for an unknown or ended stream."""
    entry = PEERS.get(peer_id)
    return None if entry is None else vars(entry[1].stats).copy()
