"""Account and annotator names in one canonical form, so that case, width variants and invisible characters never
make a second person out of one: NFKC, invisible and control characters dropped, casefolded, spaces collapsed."""

from __future__ import annotations

import unicodedata

MAX_NAME_CHARS = 64
# Cf: format characters (zero-width space and joiners, BOM, direction marks); Cc: controls; Co/Cn: private, unassigned
INVISIBLE = {"Cf", "Cc", "Co", "Cn"}


def normalise_name(text: str) -> str:
    """`text` as a canonical name; ValueError (one line) when nothing is left or it is longer than MAX_NAME_CHARS.

    Too long is refused, never cut: a cut name could be someone else's."""
    if not isinstance(text, str):
        raise ValueError(f"a name must be text, got {type(text).__name__}")
    kept = "".join(
        " " if c.isspace() else c
        for c in unicodedata.normalize("NFKC", text)
        if c.isspace() or unicodedata.category(c) not in INVISIBLE
    )  # tabs and newlines are spaces
    name = " ".join(kept.casefold().split())
    if not name:
        raise ValueError("a name is required (letters, digits or signs; invisible characters do not count)")
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(f"a name has at most {MAX_NAME_CHARS} characters, got {len(name)}")
    return name
