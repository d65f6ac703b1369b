"""Keep the garbage collector's full passes off the studio's key presses.

A full (generation 2) pass walks every container object the process holds: with Streamlit, pandas, plotly and the
data set loaded that is ~120,000 objects and 0.3-0.4 s on this machine, and one fell inside most Relabel key
presses (key -> next image drawn: 0.44 s, of which the pass was 0.3 s). Nearly all of those objects live as long as
the server (modules, cached data sets, models), so after a script run that imported something new, one collection
clears the run's garbage and `gc.freeze` moves the survivors out of the collector's sight. Objects made later are
collected as usual; only cycles among frozen objects that die later are kept, and those are module-level objects
and caches that never die.
"""
from __future__ import annotations

import gc
import sys

_modules_when_frozen = 0


def freeze_long_lived() -> bool:
    """Collect once and freeze what survives, when modules were imported since the last freeze; True if it did."""
    global _modules_when_frozen
    if len(sys.modules) <= _modules_when_frozen:
        return False
    gc.collect()
    gc.freeze()
    _modules_when_frozen = len(sys.modules)
    return True
