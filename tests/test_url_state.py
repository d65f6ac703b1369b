"""Hand-edited or stale Browse links: every value a widget cannot take is dropped (never a traceback)."""

from __future__ import annotations

import json

import pytest

from app.url_state import decoded
from core.paths import REPO_ROOT

PAGE, RANGE, SPLITS = 1, (0.0, 1.0), ("Training", "PublicTest", "PrivateTest")


@pytest.mark.parametrize(
    "text, default, options, bounds, expected",
    [
        ("2", PAGE, None, (1, 9), 2),
        ("2.5", PAGE, None, (1, 9), None),  # a page is a whole number
        ("1e400", PAGE, None, None, None),  # json reads inf
        ("NaN", 0.5, None, None, None),
        ("true", PAGE, None, None, None),  # a bool is not a number here
        ('"2"', PAGE, None, None, None),
        ("5", 1.0, None, (0.0, 1.0), None),  # quality off the slider
        ("0.25", 1.0, None, (0.0, 1.0), 0.25),
        ("1", 1.0, None, (0.0, 1.0), 1),  # an int is a fine float
        ("1000000", 0, None, (0, 10), None),  # not-a-face votes off the slider
        ("-1", 0, None, (0, 10), None),
        ('[0.5, "x"]', RANGE, None, (0.0, 1.0), None),
        ("[0.5, 0.2]", RANGE, None, (0.0, 1.0), None),  # a range upside down
        ("[0.2, 0.8]", RANGE, None, (0.0, 1.0), (0.2, 0.8)),
        ("[0.2, 1.8]", RANGE, None, (0.0, 1.0), None),
        ("[0.2]", RANGE, None, (0.0, 1.0), None),
        ("[[0.2], 0.3]", RANGE, None, (0.0, 1.0), None),
        ('{"a": 1}', RANGE, None, None, None),
        ('["Training", "Nope"]', [], SPLITS, None, ["Training"]),
        ('[["Training"], {"x": 1}, "PublicTest"]', [], SPLITS, None, ["PublicTest"]),  # unhashable items
        ('"Training"', [], SPLITS, None, None),
        ("false", True, None, None, False),
        ("0", False, None, None, None),
        ("{", PAGE, None, None, None),
        ("[" * 5000, PAGE, None, None, None),  # deep nesting
        ('"x"', "", ("x", "y"), None, "x"),
        ('["x"]', "", ("x", "y"), None, None),
        ("3", "", None, None, None),
    ],
)
def test_decoded_keeps_only_values_the_widget_takes(text, default, options, bounds, expected):
    assert decoded(text, default, options, bounds) == expected


# every bad value at once (each is dropped on its own), then the ones the issue names with the page past the end
@pytest.mark.parametrize(
    "query",
    [
        {
            "page": "2.5",
            "quality": "5",
            "notface": "1000000",
            "agreement": '[0.5,"x"]',
            "confidence": "[0.9, 0.1]",
            "worst": "1",
            "splits": '"Training"',
            "ferplus": json.dumps([["happy"]]),
            "predictions": "[]",
        },
        {"page": "1e999", "quality": "-1", "notface": "2.5", "agreement": "[0.2, 0.8, 1]", "labels": "{"},
    ],
)
@pytest.mark.slow
def test_edited_browse_links_never_raise(query, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    app = AppTest.from_file(str(REPO_ROOT / "app" / "main.py"), default_timeout=120)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    app.switch_page(str(REPO_ROOT / "pages" / "browse.py"))
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert "images match" in app.number_input(key="browse_page").label
