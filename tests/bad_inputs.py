"""Generators of the bad input files of issue #6 ("Hardening"): each writes one file (or a pair) into a folder
and returns its path, so every reader and entry point can be fed exactly the same bytes.

CSV generators return `(fer2013_path, ferplus_path_or_None)`. Image generators return one path; those that
need a real face take it as `face` (an RGB photo; tests skip them when the shared photos are absent).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from core.data.classes import FERPLUS_VOTE_COLUMNS
from core.paths import shared_data_dir

GOOD_PIXELS = " ".join(["7"] * 2304)
BAD_LINE = 3  # every bad csv row is the second data row: line 3 of the file
CsvPair = tuple[Path, Path | None]


def fer2013_text(emotion: str = "3", pixels: str = GOOD_PIXELS, usage: str = "Training") -> str:
    """A 3-row fer2013.csv whose second row (line 3) carries the given cells."""
    rows = [f"0,{GOOD_PIXELS},Training", f"{emotion},{pixels},{usage}", f"6,{GOOD_PIXELS},PrivateTest"]
    return "\n".join(["emotion,pixels,Usage", *rows]) + "\n"


def ferplus_text(rows: int) -> str:
    """A fer2013new.csv matching `fer2013_text`'s splits for its first `rows` rows (10 neutral votes each)."""
    usage = ["Training", "Training", "PrivateTest"][:rows]
    lines = ["Usage,Image name," + ",".join(FERPLUS_VOTE_COLUMNS)]
    lines += [f"{u},fer{i:07d}.png,10" + ",0" * 9 for i, u in enumerate(usage)]
    return "\n".join(lines) + "\n"


def csv_file(folder: Path, text: str, name: str = "fer2013.csv") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def gzip_long_line(folder: Path, line_bytes: int, name: str = "fer2013.csv.gz") -> Path:
    """A fer2013.csv.gz whose one data row holds `line_bytes` bytes of pixels: 100 MiB packs into ~100 KB, 1 GiB
    into ~1 MB. Compressed piece by piece, so making it never holds the line in memory."""
    compressor, piece = zlib.compressobj(9, zlib.DEFLATED, 31), b"7 " * (1 << 19)  # wbits 31: a gzip stream
    parts = [compressor.compress(b"emotion,pixels,Usage\n0,")]
    parts += [compressor.compress(piece) for _ in range(line_bytes // len(piece))]
    parts += [compressor.compress(b",Training\n"), compressor.flush()]
    path = folder / name
    path.write_bytes(b"".join(parts))
    return path


def many_rows(folder: Path, rows: int) -> Path:
    """A fer2013.csv of `rows` short rows (each a bad row, which must not matter: the count is refused first)."""
    return csv_file(folder, "emotion,pixels,Usage\n" + "0,7,Training\n" * rows)


CSV_CASES: dict[str, Callable[[Path], CsvPair]] = {
    "empty file": lambda d: (csv_file(d, ""), None),
    "missing column": lambda d: (csv_file(d, "emotion,Usage\n0,Training\n3,Training\n"), None),
    "row with 2303 pixels": lambda d: (csv_file(d, fer2013_text(pixels=" ".join(["7"] * 2303))), None),
    "pixel value 256": lambda d: (csv_file(d, fer2013_text(pixels=" ".join(["7"] * 2303 + ["256"]))), None),
    "pixel value -1": lambda d: (csv_file(d, fer2013_text(pixels=" ".join(["-1"] + ["7"] * 2303))), None),
    "label 7": lambda d: (csv_file(d, fer2013_text(emotion="7")), None),
    "unknown Usage": lambda d: (csv_file(d, fer2013_text(usage="Validation")), None),
    "FERPlus one row short": lambda d: (csv_file(d, fer2013_text()), csv_file(d, ferplus_text(2), "fer2013new.csv")),
    "FERPlus empty file": lambda d: (csv_file(d, fer2013_text()), csv_file(d, "", "fer2013new.csv")),
    "one 100 MiB line in a 100 KB .gz": lambda d: (gzip_long_line(d, 100 << 20), None),
    "250,001 rows": lambda d: (many_rows(d, 250_001), None),
}


# --- images -------------------------------------------------------------------------------------------------


def photo(name: str = "happy.jpeg") -> Image.Image | None:
    """A real face photo from the shared data, RGB, or None when it is absent."""
    path = shared_data_dir() / "photos" / name
    return Image.open(path).convert("RGB") if path.is_file() else None


def empty_image(folder: Path) -> Path:
    path = folder / "empty.jpg"
    path.write_bytes(b"")
    return path


def not_an_image(folder: Path) -> Path:
    path = folder / "notes.png"  # an image's name, a text file's bytes
    path.write_bytes(b"these are my notes, not a picture \x00\xff\n")
    return path


def truncated_jpeg(folder: Path) -> Path:
    noise = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)  # noise: no tiny file
    path = folder / "cut.jpg"
    Image.fromarray(noise).save(path, quality=90)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    return path


def one_pixel(folder: Path) -> Path:
    path = folder / "dot.png"
    Image.new("RGB", (1, 1), (200, 100, 50)).save(path)
    return path


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def decompression_bomb(folder: Path, side: int = 20000) -> Path:
    """A valid side x side 1-bit PNG of zeros: ~50 KB on disk, `side`**2 pixels once decoded. Written
    chunk by chunk, so making it never holds the decoded image (400 M pixels at 20000) in memory."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    rows_per_chunk = 500
    data = (
        b"".join(
            compressor.compress(row * min(rows_per_chunk, side - start)) for start in range(0, side, rows_per_chunk)
        )
        + compressor.flush()
    )
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit gray, no interlace
    path = folder / "bomb.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")
    )
    return path


def animated_gif(folder: Path, face: Image.Image) -> Path:
    """Three frames: the face first, then two flat gray frames (so using any other frame shows)."""
    path = folder / "animated.gif"
    gray = [Image.new("RGB", face.size, (v, v, v)) for v in (40, 200)]
    face.save(path, save_all=True, append_images=gray, duration=100, loop=0)
    return path


def cmyk_jpeg(folder: Path, face: Image.Image) -> Path:
    path = folder / "cmyk.jpg"
    face.convert("CMYK").save(path, quality=95)
    return path


def sixteen_bit_png(folder: Path, face: Image.Image) -> Path:
    """The face as 16-bit gray ('I;16'): each 8-bit value v becomes v * 257 (the full 16-bit range)."""
    path = folder / "sixteen.png"
    values = np.asarray(face.convert("L")).astype(np.uint16) * 257
    Image.fromarray(values).save(path)
    return path


def exif_rotated_jpeg(folder: Path, face: Image.Image) -> Path:
    """The face stored turned 90 degrees, with EXIF orientation 6 ("rotate 90 clockwise to show"), as phones
    write them; shown as EXIF says, it is the upright face again."""
    path = folder / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    face.transpose(Image.Transpose.ROTATE_90).save(path, quality=95, exif=exif.tobytes())
    return path


def no_face(folder: Path) -> Path:
    path = folder / "wall.png"
    smooth = Image.linear_gradient("L").resize((640, 480)).convert("RGB")  # a wall, no face anywhere
    smooth.save(path)
    return path


def twenty_faces(folder: Path, faces: list[Image.Image], side: int = 112) -> Path:
    """A 5 x 4 grid of face photos, `side` pixels each (MTCNN finds all 20 at this scale)."""
    grid = Image.new("RGB", (5 * side, 4 * side), (255, 255, 255))
    for i in range(20):
        grid.paste(faces[i % len(faces)].resize((side, side)), ((i % 5) * side, (i // 5) * side))
    path = folder / "twenty.jpg"
    grid.save(path, quality=95)
    return path


def image_cases(face: Image.Image | None, other: Image.Image | None) -> dict[str, Callable[[Path], Path] | None]:
    """Every image case of the issue; None for those that need the real photos when they are absent."""
    need = face is not None and other is not None
    return {
        "empty file": empty_image,
        "not an image": not_an_image,
        "truncated JPEG": truncated_jpeg,
        "1x1 image": one_pixel,
        "20000x20000 PNG bomb": decompression_bomb,
        "animated GIF": (lambda d: animated_gif(d, face)) if need else None,
        "CMYK JPEG": (lambda d: cmyk_jpeg(d, face)) if need else None,
        "16-bit PNG": (lambda d: sixteen_bit_png(d, face)) if need else None,
        "EXIF-rotated photo": (lambda d: exif_rotated_jpeg(d, face)) if need else None,
        "no face": no_face,
        "twenty faces": (lambda d: twenty_faces(d, [face, other])) if need else None,
    }


# --- ONNX model files ---------------------------------------------------------------------------------------


def onnx_with_metadata(folder: Path, source: Path, change: Callable[[dict], dict], name: str) -> Path:
    """A copy of the ONNX model `source` whose FER Studio metadata `change` rewrote (the graph left as it is)."""
    import json

    import onnx

    model = onnx.load(str(source))
    entry = next(e for e in model.metadata_props if e.key == "fer_studio")
    entry.value = json.dumps(change(json.loads(entry.value)))
    path = folder / name
    onnx.save(model, str(path))
    return path


def onnx_cases(source: Path) -> dict[str, Callable[[Path], Path]]:
    """Bad ONNX files made from the shipped model `source` (48x48 input, 7 classes)."""

    def write(name: str, data: bytes) -> Callable[[Path], Path]:
        def make(folder: Path) -> Path:
            (folder / name).write_bytes(data)
            return folder / name

        return make

    def metadata(change: Callable[[dict], dict], name: str) -> Callable[[Path], Path]:
        return lambda folder: onnx_with_metadata(folder, source, change, name)

    return {
        "empty file": write("empty.onnx", b""),
        "garbage bytes": write("garbage.onnx", b"\x08\x07garbage, not a protobuf \xff\x00" * 10),
        "a text file": write("notes.onnx", b"these are my notes\n"),
        "no metadata": lambda folder: onnx_without_metadata(folder, source),
        "metadata: 3 classes for 7 outputs": metadata(
            lambda m: {**m, "classes": ["happy", "sad", "neutral"]}, "three.onnx"
        ),
        "metadata: input 64 for a 48 graph": metadata(
            lambda m: {**m, "input_size": 64, "preprocessing": {**m["preprocessing"], "input_size": 64}}, "side64.onnx"
        ),
        "metadata: input 100000": metadata(
            lambda m: {**m, "input_size": 100000, "preprocessing": {**m["preprocessing"], "input_size": 100000}},
            "huge.onnx",
        ),
        "metadata: not JSON": lambda folder: onnx_raw_metadata(folder, source, "{classes: [", "notjson.onnx"),
    }


def onnx_without_metadata(folder: Path, source: Path) -> Path:
    import onnx

    model = onnx.load(str(source))
    del model.metadata_props[:]
    path = folder / "plain.onnx"
    onnx.save(model, str(path))
    return path


def onnx_raw_metadata(folder: Path, source: Path, text: str, name: str) -> Path:
    import onnx

    model = onnx.load(str(source))
    next(e for e in model.metadata_props if e.key == "fer_studio").value = text
    path = folder / name
    onnx.save(model, str(path))
    return path
