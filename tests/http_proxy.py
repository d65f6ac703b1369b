"""A reverse proxy on 127.0.0.1 that forwards TCP connections to one HTTP server (plain HTTP, server-sent events
and websockets all pass) and nothing else: it stands for a share link's tunnel, through which WebRTC media (UDP,
other ports) cannot reach the server. For tests and benchmarks.

    with http_proxy(target_port) as url: ...   # url: http://127.0.0.1:<free port>/
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def relay(target_port: int, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))


@contextlib.contextmanager
def http_proxy(target_port: int) -> Iterator[str]:
    """Serve the proxy from a daemon thread while the block runs; yields its URL."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict = {}

    async def serve() -> None:
        holder["server"] = await asyncio.start_server(lambda r, w: relay(target_port, r, w), "127.0.0.1", 0)
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(serve()), loop.run_forever()), daemon=True)
    thread.start()
    started.wait(10)
    port = holder["server"].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        loop.call_soon_threadsafe(holder["server"].close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
