"""Showing text that people or files supply: literally, never as Markdown."""

from __future__ import annotations

import re

# Markdown and Streamlit directive characters (`:red[...]`, `$math$`, links, images): text that people or files supply
# is shown literally, never interpreted (Streamlit already escapes raw HTML).
MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:&=])")
IMPORT_HINT = (
    "python -m core import-data --fer2013 ../shared/data/fer2013/fer2013.csv.gz "
    "--ferplus ../shared/data/fer2013/fer2013new.csv"
)


# GitHub-style autolinks (http://..., www...., a@b.c) ignore backslash escapes: an invisible word joiner breaks them.
AUTOLINK_STARTS = re.compile(r"(://|www\.|@)", re.IGNORECASE)


def escape_markdown(text: object) -> str:
    """`text` on one line with every Markdown special character escaped and no autolink, for st.markdown & co."""
    flat = AUTOLINK_STARTS.sub(lambda m: m.group(1)[0] + "\u2060" + m.group(1)[1:], " ".join(str(text).split()))
    return MARKDOWN_SPECIALS.sub(r"\\\1", flat)


def readable_date(iso: object) -> str:
    """An ISO time stamp as people read it ("1 Dec 2026, 13:23"); anything else unchanged, "?" when missing."""
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return "?" if iso in (None, "") else str(iso)
    return f"{moment.day} {moment:%b %Y, %H:%M}"


def eta_text(seconds: object) -> str:
    """A time left as people read it ("about 2 min 5 s left"); "" when unknown."""
    if not seconds:
        return ""
    minutes, rest = divmod(int(seconds), 60)
    return f"about {minutes} min {rest} s left" if minutes else f"about {rest} s left"
