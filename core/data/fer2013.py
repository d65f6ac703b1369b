"""Reading the original Kaggle fer2013.csv (`emotion,pixels,Usage`, plain or gzipped) into uint8 faces."""

from __future__ import annotations

import gzip
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.bounded_read import open_bounded
from core.data.classes import FER2013_CLASSES
from core.data.images import FACE_SIDE
from core.errors import DataError
from core.progress import ProgressCallback, no_progress

SPLITS: tuple[str, ...] = ("Training", "PublicTest", "PrivateTest")  # the FER2013 protocol, in order
N_PIXELS = FACE_SIDE * FACE_SIDE
HEADER_LINES = 1  # data row i sits on file line i + 2


@dataclass
class Fer2013Csv:
    """The parsed contents of a fer2013.csv: one face, emotion code and split per row."""

    images: np.ndarray  # (N, 48, 48) uint8
    emotions: np.ndarray  # (N,) int8, index into FER2013_CLASSES
    usage: np.ndarray  # (N,) str, one of SPLITS
    path: str


def file_line(row: int | np.ndarray) -> int | np.ndarray:
    """The 1-based line of data row `row` in a csv with one header line, counting blank lines as rows."""
    return row + HEADER_LINES + 1


def read_csv_columns(path: str | Path, required: Sequence[str]) -> pd.DataFrame:
    """Read a csv (plain or gzipped) as strings and check its columns; any problem is a DataError naming the file.

    Blank lines are dropped; the frame's index is each row's 1-based line in the file, for error messages.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError("is a folder, not a csv file", path=path)
    if not path.is_file():
        raise DataError("no such file", path=path)
    if path.stat().st_size == 0:
        raise DataError("the file is empty", path=path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # extra fields would silently drop data
            with open_bounded(path) as stream:  # bounded while it streams: see core.limits
                frame = pd.read_csv(
                    stream,
                    dtype=str,
                    keep_default_na=False,
                    skipinitialspace=True,
                    index_col=False,
                    skip_blank_lines=False,
                )
    except DataError:
        raise
    except pd.errors.ParserWarning:
        raise DataError("malformed csv (a row has more fields than the header)", path=path) from None
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty", path=path) from None
    except pd.errors.ParserError as exc:
        raise DataError(f"malformed csv ({exc})", path=path) from None
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile, zlib.error, OSError, MemoryError) as exc:
        raise DataError(f"cannot be read as csv text ({exc})", path=path) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}; found {', '.join(frame.columns)}", path=path)
    frame.index = file_line(np.arange(len(frame)))  # kept by the filter below: rows keep their lines
    frame = frame[(frame != "").any(axis=1)]  # blank lines (skipinitialspace made spaces-only cells "")
    if len(frame) == 0:
        raise DataError("the file has a header but no rows", path=path)
    return frame


def parse_pixels(text: str, *, path: str | Path, line: int | None = None) -> np.ndarray:
    """Parse one row's space-separated pixels into a (48, 48) uint8 face; strict about count and range.

    `line` is the row's line in the file, for error messages."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warns (not raises) on trailing garbage in older versions
        try:
            # NUL ends a C string: numpy would silently stop reading there
            values = np.fromstring(text, dtype=np.int64, sep=" ") if "\x00" not in text else None
        except (ValueError, DeprecationWarning):
            values = None
    if values is None:
        raise DataError("pixels must be whole numbers separated by spaces", path=path, line=line)
    if values.size != N_PIXELS:
        raise DataError(f"expected {N_PIXELS} pixels (48x48), found {values.size}", path=path, line=line)
    outside = np.flatnonzero((values < 0) | (values > 255))
    if outside.size:
        written = text.split()[outside[0]]  # as written: numpy clips huge numbers to the int64 range
        raise DataError(f"pixel value {written} is outside 0..255", path=path, line=line)
    return values.astype(np.uint8).reshape(FACE_SIDE, FACE_SIDE)


def parse_codes(column: pd.Series, valid: Sequence[str], *, what: str, path: str | Path) -> np.ndarray:
    """Check every cell of a column is one of `valid`; the first bad one is a DataError naming its line."""
    values = column.str.strip().to_numpy(dtype=object)
    ok = np.isin(values, np.asarray(valid, dtype=object))
    if not ok.all():
        bad = int(np.flatnonzero(~ok)[0])
        found = f"unknown {what} {values[bad]!r}" if values[bad] else f"missing {what}"
        raise DataError(f"{found}; expected one of {', '.join(valid)}", path=path, line=int(column.index[bad]))
    return values


def read_fer2013(path: str | Path, track: ProgressCallback = no_progress) -> Fer2013Csv:
    """Read fer2013.csv; raise DataError naming the file, line and problem on any bad row."""
    frame = read_csv_columns(path, ("emotion", "pixels", "Usage"))
    codes = [str(i) for i in range(len(FER2013_CLASSES))]
    emotions = parse_codes(frame["emotion"], codes, what="emotion label", path=path).astype(np.int8)
    usage = parse_codes(frame["Usage"], SPLITS, what="Usage", path=path).astype(str)
    images = np.empty((len(frame), FACE_SIDE, FACE_SIDE), dtype=np.uint8)
    pixel_rows = frame["pixels"].to_numpy(dtype=object)
    lines = frame.index.to_numpy()
    for row, text in enumerate(track(pixel_rows, len(pixel_rows), "parsing pixels")):
        images[row] = parse_pixels(text, path=path, line=int(lines[row]))
    return Fer2013Csv(images=images, emotions=emotions, usage=usage, path=str(path))
