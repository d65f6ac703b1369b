"""A csv byte stream (plain or gzipped) that refuses, while it streams, text beyond the bounds in core.limits.

pandas reads the whole file (or line) into memory before it could complain; wrapping the handle it reads from
makes a 200 KB .gz holding a 1 GiB line stop after its first MAX_CSV_LINE_BYTES, not after its gigabyte.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from core.errors import DataError
from core.limits import MAX_CSV_BYTES, MAX_CSV_LINE_BYTES, MAX_CSV_ROWS


class BoundedStream(io.RawIOBase):
    """Reads `source`, raising DataError once the text passes `max_bytes`, a line passes `max_line` bytes or the
    text has more than `max_lines` lines (defaults: core.limits)."""

    def __init__(
        self,
        source: BinaryIO,
        path: Path,
        *,
        max_bytes: int | None = None,
        max_line: int | None = None,
        max_lines: int | None = None,
    ):
        self.source, self.path = source, path
        self.max_bytes = max_bytes or MAX_CSV_BYTES
        self.max_line = max_line or MAX_CSV_LINE_BYTES
        self.max_lines = max_lines or MAX_CSV_ROWS + 1  # and the header
        self.total = self.line_length = self.lines = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self.source.read(min(len(buffer), self.max_line))  # small reads: a long line is seen early
        self.check(chunk)
        if not chunk and self.line_length:  # the end: a last line without a newline counts too
            self.end_line(self.line_length)
            self.line_length = 0
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def check(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if self.total > self.max_bytes:
            raise DataError(
                f"the text is larger than {self.max_bytes:,} bytes (decompressed); a FER2013 csv is about 301 MB",
                path=self.path,
            )
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            self.end_line(self.line_length + end - start)
            self.line_length, start = 0, end + 1
        self.line_length += len(chunk) - start
        if self.line_length > self.max_line:
            self.end_line(self.line_length)

    def end_line(self, length: int) -> None:
        self.lines += 1
        if length > self.max_line:
            raise DataError(
                f"a line is longer than {self.max_line:,} bytes (a FER2013 row is under 10,000)",
                path=self.path,
                line=self.lines,
            )
        if self.lines > self.max_lines:
            raise DataError(f"more than {self.max_lines - 1:,} rows (FER2013 has 35,887)", path=self.path)


@contextmanager
def open_bounded(path: str | Path) -> Iterator[io.BufferedReader]:
    """`path` opened for reading as bytes, gunzipped when its magic bytes say gzip (whatever its name says), and
    bounded as BoundedStream says."""
    path = Path(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        source = gzip.GzipFile(fileobj=raw) if compressed else raw
        with io.BufferedReader(BoundedStream(source, path)) as stream:
            yield stream
