"""MTCNN face detection with numpy and onnxruntime only: facenet-pytorch's pipeline, without torch.

The three networks are facenet-pytorch's own, exported once by `python -m core export-detector` into
checkpoints/mtcnn/. The steps copy facenet_pytorch/models/utils/detect_face.py (2.5.3) so boxes agree with the
torch detector: an image pyramid, PNet proposals per level, NMS, RNet and ONet refinement of square crops, box
regression, landmarks. Resizing is torch's `interpolate(mode="area")` (adaptive average pooling) reimplemented
exactly with cumulative sums, since OpenCV's INTER_AREA weights the border pixels differently.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.paths import CHECKPOINTS_DIR

DETECTOR_DIR = CHECKPOINTS_DIR / "mtcnn"
THRESHOLDS = (0.6, 0.7, 0.7)  # facenet-pytorch's defaults for PNet, RNet, ONet
FACTOR = 0.709  # each pyramid level is this much smaller than the one before (facenet-pytorch's default)


def cumulative(images: np.ndarray, axis: int) -> np.ndarray:
    """Sums along `axis` with a leading zero, in float64: over a 640-pixel row float32 would lose the last digits
    torch keeps. The pyramid computes the full image's row sums once and reuses them at every level."""
    sums = np.cumsum(images, axis=axis, dtype=np.float64)
    padding = [(0, 0)] * images.ndim
    padding[axis] = (1, 0)
    return np.pad(sums, padding)


def area_resize(images: np.ndarray, height: int, width: int, row_sums: np.ndarray | None = None) -> np.ndarray:
    """(N, C, H, W) float -> (N, C, height, width): each output pixel is the mean of the input pixels its cell
    touches, cells from floor(i * H / height) to ceil((i + 1) * H / height) (torch's adaptive average pooling).
    `row_sums`: `cumulative(images, 2)` when the caller already has it."""
    out = images
    for axis, size in ((2, height), (3, width)):
        n = out.shape[axis]
        index = np.arange(size)
        start, end = index * n // size, -(-(index + 1) * n // size)
        sums = row_sums if axis == 2 and row_sums is not None else cumulative(out, axis)
        shape = [1] * out.ndim
        shape[axis] = size
        out = (np.take(sums, end, axis=axis) - np.take(sums, start, axis=axis)) / (end - start).reshape(shape)
    return out.astype(np.float32)


def normalise(images: np.ndarray) -> np.ndarray:
    return ((images - 127.5) * 0.0078125).astype(np.float32)


def pyramid_scales(height: int, width: int, min_face_size: int, factor: float = FACTOR) -> list[float]:
    """The scales at which a 12-pixel PNet window covers faces from `min_face_size` up to the whole image."""
    scale, side, scales = 12.0 / min_face_size, min(height, width) * 12.0 / min_face_size, []
    while side >= 12:
        scales.append(scale)
        scale, side = scale * factor, side * factor
    return scales


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, mode: str = "union") -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best score first. "union": torchvision's IoU (areas
    without +1, what facenet-pytorch uses in stages 1-2); "min": its numpy intersection-over-smaller (+1)."""
    plus = 1.0 if mode == "min" else 0.0
    x0, y0, x1, y1 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x1 - x0 + plus) * (y1 - y0 + plus)
    order, keep = np.argsort(-scores, kind="stable"), []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]) + plus)
        h = np.maximum(0.0, np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]) + plus)
        inter = w * h
        overlap = inter / (np.minimum(areas[i], areas[rest]) if mode == "min" else areas[i] + areas[rest] - inter)
        order = rest[overlap <= threshold]
    return np.array(keep, dtype=np.int64)


def proposals(regression: np.ndarray, probabilities: np.ndarray, scale: float, threshold: float) -> np.ndarray:
    """PNet's output map -> candidate boxes (n, 9): x0, y0, x1, y1 in image pixels, score, 4 regression offsets."""
    score = probabilities[0, 1]
    ys, xs = np.nonzero(score >= threshold)
    cells = np.stack([xs, ys], axis=1).astype(np.float32)
    # PNet has stride 2 and a 12-pixel window; facenet-pytorch's +1 offsets are kept for identical boxes
    q0, q1 = np.floor((2 * cells + 1) / scale), np.floor((2 * cells + 12) / scale)
    return np.concatenate([q0, q1, score[ys, xs, None], regression[0][:, ys, xs].T], axis=1).astype(np.float32)


def square(boxes: np.ndarray) -> np.ndarray:
    """The squares (same centres, side = the longer side) around boxes (n, >=4); other columns are kept."""
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0], out[:, 1] = boxes[:, 0] + w * 0.5 - side * 0.5, boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2], out[:, 3] = out[:, 0] + side, out[:, 1] + side
    return out


def regress(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Boxes moved by the R/ONet regression (offsets in box sides, sides counted with +1 as facenet-pytorch)."""
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1
    out[:, :4] = boxes[:, :4] + offsets[:, :4] * np.stack([w, h, w, h], axis=1)
    return out


def crops(image: np.ndarray, boxes: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised crops (n, 3, side, side) of the boxes (clipped to the image) and which boxes gave one."""
    height, width = image.shape[2:]
    ints = np.trunc(boxes[:, :4]).astype(np.int64)
    x0, y0 = np.maximum(ints[:, 0], 1), np.maximum(ints[:, 1], 1)
    x1, y1 = np.minimum(ints[:, 2], width), np.minimum(ints[:, 3], height)
    valid = (y1 > y0 - 1) & (x1 > x0 - 1)
    cut = [
        area_resize(image[:, :, b - 1 : d, a - 1 : c], side, side)
        for a, b, c, d, ok in zip(x0, y0, x1, y1, valid)
        if ok
    ]
    batch = np.concatenate(cut) if cut else np.zeros((0, 3, side, side), np.float32)
    return normalise(batch), valid


class MtcnnOnnx:
    """The three networks as onnxruntime sessions, and `detect` running facenet-pytorch's pipeline on them."""

    def __init__(
        self,
        folder: str | Path = DETECTOR_DIR,
        min_face_size: int = 40,
        thresholds: tuple[float, float, float] = THRESHOLDS,
        factor: float = FACTOR,
    ):
        import onnxruntime

        folder = Path(folder)
        missing = [n for n in ("pnet", "rnet", "onet") if not (folder / f"{n}.onnx").is_file()]
        if missing:
            raise FileNotFoundError(f"no MTCNN ONNX files {missing} in {folder}: run `python -m core export-detector`")
        self.sessions = {
            n: onnxruntime.InferenceSession(str(folder / f"{n}.onnx"), providers=["CPUExecutionProvider"])
            for n in ("pnet", "rnet", "onet")
        }
        self.min_face_size, self.thresholds, self.factor = min_face_size, thresholds, factor

    def run(self, name: str, batch: np.ndarray) -> list[np.ndarray]:
        return self.sessions[name].run(None, {"image": batch})

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (n, 5: x0, y0, x1, y1, score) and landmarks (n, 5, 2) in an RGB uint8 array (H, W, 3)."""
        image = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32)
        boxes = self.stage_one(image)
        if len(boxes):
            boxes = self.stage_two(image, boxes)
        if not len(boxes):
            return np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32)
        return self.stage_three(image, boxes)

    def stage_one(self, image: np.ndarray) -> np.ndarray:
        """PNet over the pyramid: NMS per level (0.5), then across levels (0.7), regressed, squared (n, 5)."""
        height, width = image.shape[2:]
        found, row_sums = [], cumulative(image, 2)
        for scale in pyramid_scales(height, width, self.min_face_size, self.factor):
            level = normalise(area_resize(image, int(height * scale + 1), int(width * scale + 1), row_sums))
            boxes = proposals(*self.run("pnet", level), scale, self.thresholds[0])
            found.append(boxes[nms(boxes[:, :4], boxes[:, 4], 0.5)])
        boxes = np.concatenate(found) if found else np.zeros((0, 9), np.float32)
        boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
        w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        moved = boxes[:, :4] + boxes[:, 5:9] * np.stack([w, h, w, h], axis=1)
        return square(np.concatenate([moved, boxes[:, 4:5]], axis=1))

    def stage_two(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """RNet on 24x24 crops: kept above its threshold, NMS (0.7), regressed, squared."""
        batch, valid = crops(image, boxes, 24)
        regression, probabilities = self.run("rnet", batch)
        boxes, score = boxes[valid], probabilities[:, 1]
        keep = score > self.thresholds[1]
        boxes = np.concatenate([boxes[keep, :4], score[keep, None]], axis=1)
        pick = nms(boxes[:, :4], boxes[:, 4], 0.7)
        return square(regress(boxes[pick], regression[keep][pick]))

    def stage_three(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ONet on 48x48 crops: kept above its threshold, landmarks, regressed, NMS by intersection-over-smaller."""
        batch, valid = crops(image, boxes, 48)
        regression, points, probabilities = self.run("onet", batch)
        boxes, score = boxes[valid], probabilities[:, 1]
        keep = score > self.thresholds[2]
        boxes = np.concatenate([boxes[keep, :4], score[keep, None]], axis=1)
        points, regression = points[keep], regression[keep]
        w, h = boxes[:, 2:3] - boxes[:, 0:1] + 1, boxes[:, 3:4] - boxes[:, 1:2] + 1
        landmarks = np.stack([w * points[:, :5] + boxes[:, 0:1] - 1, h * points[:, 5:] + boxes[:, 1:2] - 1], axis=2)
        boxes = regress(boxes, regression)
        pick = nms(boxes[:, :4], boxes[:, 4], 0.7, mode="min")
        return boxes[pick], landmarks[pick]
