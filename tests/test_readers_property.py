"""Property tests of the csv readers (issue #6): whatever the file holds, read_fer2013 and read_ferplus either
return exactly the values that were written or raise our DataError; never any other exception.

Four kinds of files: valid rows dressed in ways that must not change the values (BOM, CRLF, blank lines,
quotes, spaces, gzip); valid rows with one known-bad cell (the error must name that cell's line); valid rows
with one cell replaced by anything (quotes, NULs, other scripts' digits, huge numbers, random text); and
garbage (raw bytes, raw text, rows of tricky tokens; sometimes a cut gzip stream).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core.data.classes import FERPLUS_VOTE_COLUMNS
from core.data.fer2013 import SPLITS, read_fer2013
from core.data.ferplus import read_ferplus
from core.errors import DataError

# no example database: the tests must not leave a .hypothesis/ folder in the checkout
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ANY_CELL_SETTINGS = settings(SETTINGS, max_examples=300)  # ~1 example in 40 puts '²' or a huge number in a cell
FER_HEADER = "emotion,pixels,Usage"
PLUS_HEADER = "Usage,Image name," + ",".join(FERPLUS_VOTE_COLUMNS)
TRICKY = [
    "0",
    "6",
    "7",
    "-1",
    "256",
    "255",
    "1e3",
    "99999999999999999999",
    "",
    "  ",
    '"',
    "\x00",
    "Training",
    "PublicTest",
    "Validation",
    "\ufeff",
    "２",
    "²",
    "٣",
    "nan",
    "NaN",
    "None",
    "1.5",
    "+3",
    "0x1",
    "\t",
]
STRUCTURE = re.compile(r'[,"\r\n]')  # a token with these can merge or split cells and rows
any_token = st.one_of(st.sampled_from(TRICKY), st.sampled_from(TRICKY), st.text(max_size=10))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("property")  # one folder, rewritten per example (tmp_path is per test)


# names whose suffix pandas would take for a compression: the reader goes by the bytes, not the name
NAMES = ["input.csv", "input.csv.gz", "input.zip", "input.xz", "input.bz2", "input.zst", "input.tar", "input"]


def write(folder: Path, content: bytes, gz: bool = False, name: str = "input.csv") -> Path:
    for old in folder.iterdir():
        old.unlink()
    path = folder / name
    path.write_bytes(gzip.compress(content) if gz else content)
    return path


def read_or_data_error(reader, path: Path):
    """The reader's result, or None when it raised DataError; any other exception fails the test."""
    try:
        result = reader(path)
    except DataError as exc:
        event("DataError: " + " ".join(exc.problem.split()[:3]).strip(":;,("))  # the kind of problem
        return None
    event("parsed")
    return result


def csv_bytes(header: str, cells: list[list[str]]) -> bytes:
    return "\n".join([header, *(",".join(row) for row in cells)]).encode("utf-8", "surrogatepass")


# --- the rows each reader is fed ----------------------------------------------------------------------------

fer_rows = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 2**32 - 1), st.sampled_from(SPLITS)), min_size=1, max_size=4
)  # (emotion, seed of the face's pixels, Usage)
plus_rows = st.lists(
    st.tuples(
        st.sampled_from(SPLITS),
        st.text(st.characters(codec="utf-8", exclude_characters=',"\r\n\x00'), max_size=12),
        st.lists(st.integers(0, 20), min_size=10, max_size=10),
    ),
    min_size=1,
    max_size=5,
)


def faces_of(rows) -> np.ndarray:
    return np.stack(
        [np.random.default_rng(seed).integers(0, 256, 2304).astype(np.uint8).reshape(48, 48) for _, seed, _ in rows]
    )


def fer_cells(rows) -> list[list[str]]:
    return [[str(e), " ".join(map(str, face.ravel())), u] for (e, _, u), face in zip(rows, faces_of(rows))]


def plus_cells(rows) -> list[list[str]]:
    return [[u, name.strip() or "x.png", *map(str, votes)] for u, name, votes in rows]


def fer_values(fer) -> list[tuple]:
    return [(int(e), u, face.tobytes()) for e, u, face in zip(fer.emotions, fer.usage, fer.images)]


def expected_fer_values(rows) -> list[tuple]:
    return [(e, u, face.tobytes()) for (e, _, u), face in zip(rows, faces_of(rows))]


def plus_values(plus) -> list[tuple]:
    return [(u, votes) for u, votes in zip(plus.usage, plus.votes.tolist())]


def expected_plus_values(rows) -> list[tuple]:
    return [(u, votes) for u, _, votes in rows]


# --- valid rows, harmlessly dressed: the exact values ---------------------------------------------------------


@st.composite
def harmless(draw, header: str, cells: list[list[str]]) -> tuple[bytes, bool, str]:
    """The rows as csv bytes, dressed in ways a reader must see through (the values stay the same); whether
    to gzip them, and the file's name."""
    quote = draw(st.booleans())
    lines = [",".join(f'"{c}"' if quote else c for c in row) for row in cells]
    if draw(st.booleans()):
        lines = [line.replace(",", ", ") for line in lines]  # a space after each comma
    for _ in range(draw(st.integers(0, 2))):  # blank lines (or only spaces, or empty cells) after the header
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["", "   ", ","])))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    text = end.join([header, *lines]) + (end if draw(st.booleans()) else "")
    bom = "\ufeff" if draw(st.booleans()) else ""
    return (bom + text).encode(), draw(st.booleans()), draw(st.sampled_from(NAMES))


@SETTINGS
@given(rows=fer_rows, data=st.data())
def test_fer2013_valid_rows_read_back_exactly(folder, rows, data):
    assert fer_values(
        read_fer2013(write(folder, *data.draw(harmless(FER_HEADER, fer_cells(rows)))))
    ) == expected_fer_values(rows)


@SETTINGS
@given(rows=plus_rows, data=st.data())
def test_ferplus_valid_rows_read_back_exactly(folder, rows, data):
    assert plus_values(
        read_ferplus(write(folder, *data.draw(harmless(PLUS_HEADER, plus_cells(rows)))))
    ) == expected_plus_values(rows)


# --- one known-bad cell: a DataError naming its line ---------------------------------------------------------

BAD_FER_CELLS = {0: ["7", "-1", "x", "3.0", "", "٣", "²", "nan"], 2: ["Validation", "", "training", "Test"]}


def bad_pixels(draw) -> str:
    values = ["7"] * 2304
    kind = draw(st.sampled_from(["count", "value", "token"]))
    if kind == "count":
        values = values[: draw(st.sampled_from([0, 1, 2303]))] if draw(st.booleans()) else values + ["7"]
    elif kind == "value":
        values[draw(st.integers(0, 2303))] = draw(st.sampled_from(["256", "-1", "99999999999999999999", "-300"]))
    else:
        values[draw(st.integers(0, 2303))] = draw(st.sampled_from(["1.5", "x", "1e3", "0x1", "７", "\x00", "5\x00"]))
    return " ".join(values)


@SETTINGS
@given(rows=fer_rows, data=st.data())
def test_fer2013_one_bad_cell_is_named_with_its_line(folder, rows, data):
    cells = fer_cells(rows)
    row, column = data.draw(st.integers(0, len(rows) - 1)), data.draw(st.sampled_from([0, 1, 2]))
    cells[row][column] = bad_pixels(data.draw) if column == 1 else data.draw(st.sampled_from(BAD_FER_CELLS[column]))
    blank_before = data.draw(st.integers(0, 2))  # blank lines between the header and the bad row
    lines = [FER_HEADER] + [",".join(r) for r in cells[:row]] + [""] * blank_before + [",".join(r) for r in cells[row:]]
    with pytest.raises(DataError) as info:
        read_fer2013(write(folder, ("\n".join(lines) + "\n").encode()))
    assert info.value.line == 2 + row + blank_before, str(info.value)


# --- one cell replaced by anything: the other rows' values, or a DataError on that line ------------------------


def replace_one_cell(data, cells: list[list[str]]) -> tuple[int, str]:
    row = data.draw(st.sampled_from(range(len(cells))))
    column = data.draw(st.sampled_from(range(len(cells[0]))))
    token = data.draw(any_token)
    cells[row][column] = token
    return row, token


def check_one_cell(reader, path: Path, row: int, token: str, values, expected) -> None:
    """Parsed: the untouched rows are exactly as written; refused: the error names the changed row's line
    (tokens that change the csv structure may move the error elsewhere, so only their type is checked)."""
    try:
        result, error_line = reader(path), None
        event("parsed")
    except DataError as exc:
        result, error_line = None, exc.line
    if STRUCTURE.search(token):
        return
    if result is None:
        assert error_line == row + 2
        return
    got = values(result)
    assert len(got) == len(expected) and [g for i, g in enumerate(got) if i != row] == [
        e for i, e in enumerate(expected) if i != row
    ]


@ANY_CELL_SETTINGS
@given(rows=fer_rows, data=st.data())
def test_fer2013_any_cell_gives_values_or_data_error(folder, rows, data):
    cells = fer_cells(rows)
    row, token = replace_one_cell(data, cells)
    path = write(folder, csv_bytes(FER_HEADER, cells))
    check_one_cell(read_fer2013, path, row, token, fer_values, expected_fer_values(rows))


@ANY_CELL_SETTINGS
@given(rows=plus_rows, data=st.data())
def test_ferplus_any_cell_gives_values_or_data_error(folder, rows, data):
    cells = plus_cells(rows)
    row, token = replace_one_cell(data, cells)
    path = write(folder, csv_bytes(PLUS_HEADER, cells))
    check_one_cell(read_ferplus, path, row, token, plus_values, expected_plus_values(rows))


# --- garbage: DataError, or well-formed values ----------------------------------------------------------------


@st.composite
def garbage(draw, header: str, width: int) -> tuple[bytes, bool, str]:
    """Raw bytes, raw text, or rows of tricky tokens under the real header; sometimes gzipped, sometimes a cut
    gzip stream; under any name."""
    kind = draw(st.sampled_from(["bytes", "text", "tokens"]))
    event(f"garbage: {kind}")
    if kind == "bytes":
        content = draw(st.binary(max_size=300))
    elif kind == "text":
        content = draw(st.text(max_size=300)).encode("utf-8", "surrogatepass")
    else:
        rows = [
            [draw(any_token) for _ in range(draw(st.integers(1, width + 1)))] for _ in range(draw(st.integers(0, 4)))
        ]
        content = csv_bytes(header, rows)
    gz, name = draw(st.booleans()), draw(st.sampled_from(NAMES))
    if gz and draw(st.booleans()):
        return gzip.compress(content)[: draw(st.integers(0, 40))], False, name
    return content, gz, name


@SETTINGS
@given(data=st.data())
def test_fer2013_garbage_gives_values_or_data_error(folder, data):
    fer = read_or_data_error(read_fer2013, write(folder, *data.draw(garbage(FER_HEADER, 3))))
    if fer is not None:  # whatever got through is well formed
        assert fer.images.shape[1:] == (48, 48) and fer.images.dtype == np.uint8 and len(fer.images) > 0
        assert set(fer.emotions) <= set(range(7)) and set(fer.usage) <= set(SPLITS)


@SETTINGS
@given(data=st.data())
def test_ferplus_garbage_gives_values_or_data_error(folder, data):
    plus = read_or_data_error(read_ferplus, write(folder, *data.draw(garbage(PLUS_HEADER, 12))))
    if plus is not None:
        assert plus.votes.shape[1] == 10 and (plus.votes >= 0).all() and set(plus.usage) <= set(SPLITS)
