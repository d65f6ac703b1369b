"""Drawing predictions (core/inference/draw.py), the faces' reading order and the shared faces chart: numbers on
the boxes, one colour per face in the picture and its bars, labels inside the picture whatever the face."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.charts import faces_chart
from core.inference.draw import FACE_COLOURS, annotate, face_colour, font_for, rgb, scale_for, tags, text_colour
from core.inference.predictor import FacePrediction, PredictionResult, reading_order, summary


def face(box, label: str = "happy", confidence: float = 0.87) -> FacePrediction:
    probabilities = {"happy": confidence, "sad": 1 - confidence}
    return FacePrediction(box, 0.99, probabilities, label, confidence)


def test_faces_are_numbered_in_reading_order():
    boxes = [(300, 210, 400, 310), (0, 0, 100, 100), (310, 5, 410, 105), (0, 200, 100, 300)]  # by confidence
    assert [f.box for f in reading_order([face(b) for b in boxes])] == [boxes[1], boxes[2], boxes[3], boxes[0]]


def test_a_tilted_row_stays_one_row_and_a_grid_reads_row_by_row():
    tilted = [(400, 40, 500, 140), (0, 0, 100, 100), (200, 20, 300, 120)]  # each 20 px lower than the last
    assert [f.box[0] for f in reading_order([face(b) for b in tilted])] == [0, 200, 400]
    grid = [
        (x * 120, y * 120 + (x % 2) * 30, x * 120 + 100, y * 120 + (x % 2) * 30 + 100)
        for y in range(4)
        for x in range(5)
    ]  # 5 x 4, every other column lower by 30% of a face
    shuffled = [grid[i] for i in np.random.default_rng(0).permutation(len(grid))]
    assert [f.box for f in reading_order([face(b) for b in shuffled])] == grid


def test_whole_image_faces_keep_their_order():
    assert reading_order([face(None)]) == [face(None)]


def test_every_face_has_its_own_colour_and_its_bars_share_it():
    assert len(set(FACE_COLOURS)) == len(FACE_COLOURS) and face_colour(1) != face_colour(2)
    assert face_colour(len(FACE_COLOURS) + 1) == face_colour(1)  # more faces than colours: the numbers tell
    result = PredictionResult([face((0, 0, 50, 50)), face((100, 0, 150, 50)), face((200, 0, 250, 50))], "3 faces")
    figure = faces_chart(result)
    assert [bar.name for bar in figure.data] == ["face 1", "face 2", "face 3"]
    assert [bar.marker.color for bar in figure.data] == [face_colour(1), face_colour(2), face_colour(3)]
    assert faces_chart(PredictionResult([], "no face found")) is None


def test_boxes_are_drawn_in_their_face_colour_with_the_number_first():
    image = Image.new("RGB", (400, 300), (0, 0, 0))
    result = PredictionResult([face((20, 100, 120, 200)), face((220, 100, 320, 200), "sad", 0.6)], "2 faces found")
    drawn = np.asarray(annotate(image, result))
    assert tuple(drawn[150, 20]) == rgb(face_colour(1)) and tuple(drawn[150, 220]) == rgb(face_colour(2))
    texts = [tag.text for tag in tags(image.size, result, font_for(image.size))]
    assert texts == ["1 happy 87%", "2 sad 60%"]


@pytest.mark.parametrize("box", [(-30, -30, 60, 60), (350, 250, 460, 330), (0, 0, 399, 299), (370, 0, 399, 20)])
def test_labels_stay_inside_the_picture_for_faces_at_its_border(box):
    size = (400, 300)
    [tag] = tags(size, PredictionResult([face(box)], "1 face found"), font_for(size))
    left, top, right, bottom = tag.rect
    assert 0 <= left < right <= size[0] and 0 <= top < bottom <= size[1], tag
    assert tag.text.startswith("1")


def test_a_face_alone_keeps_its_probability_however_small():
    size = (640, 480)  # a webcam frame, one face of 70 px: "1 happy 87%" is wider than 1.5 faces
    [tag] = tags(size, PredictionResult([face((300, 200, 370, 290))], "1 face found"), font_for(size))
    assert tag.text == "1 happy 87%"
    two = tags(size, PredictionResult([face((300, 200, 370, 290)), face((450, 200, 520, 290))], "2"), font_for(size))
    assert [t.text for t in two] == ["1 happy", "2 happy"]  # neighbours: shortened so they do not cover each other


def test_small_faces_get_short_readable_labels_that_do_not_cover_each_other():
    size = (560, 448)  # twenty faces of 60 px
    boxes = [(x * 110 + 20, y * 110 + 20, x * 110 + 80, y * 110 + 80) for y in range(4) for x in range(5)]
    font = font_for(size)
    placed = tags(size, PredictionResult([face(b) for b in boxes], "20 faces found"), font)
    assert font.size >= 14 and [t.text.split()[0] for t in placed] == [str(n) for n in range(1, 21)]
    for a in placed:
        for b in placed:
            overlap = (
                a is not b
                and a.rect[0] < b.rect[2]
                and b.rect[0] < a.rect[2]
                and a.rect[1] < b.rect[3]
                and b.rect[1] < a.rect[3]
            )
            assert not overlap, (a, b)


def test_a_face_crop_is_enlarged_so_its_label_fits():
    crop = Image.new("L", (48, 48), 128)
    result = PredictionResult([face(None)], "whole image classified")
    drawn = annotate(crop, result)
    assert drawn.size == (48 * scale_for(crop.size),) * 2 and drawn.width >= 160
    [tag] = tags(drawn.size, result, font_for(drawn.size))
    assert tag.text == "1 happy 87%" and tag.rect[2] <= drawn.width


def test_label_text_is_black_on_light_colours_and_white_on_dark():
    assert text_colour("#F0E442") == (0, 0, 0) and text_colour("#0072B2") == (255, 255, 255)


def test_summary_lists_faces_in_order_and_says_which_tta_was_applied():
    result = PredictionResult([face((0, 0, 10, 10)), face((20, 0, 30, 10), "sad", 0.6)], "2 faces found", "flip")
    assert summary(result).splitlines() == [
        "**2 faces found** · test-time augmentation: flip",
        "- face 1: **happy** 87%",
        "- face 2: **sad** 60%",
    ]
