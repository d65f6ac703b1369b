"""Keep the garbage collector's full passes off the studio's key presses.

A full (generation 2) pass walks every container object the process holds: with Streamlit, pandas, plotly and the
data set loaded that is ~120,000 objects and 0.3-0.4 s on this machine, and one fell inside most Relabel key
presses (key -> next image drawn: 0.44 s, of which the pass was 0.3 s). Nearly all of those objects live as long as
the server (modules, cached data sets, models), so after a script run that imported something new, one collection
clears the run's garbage and `gc.freeze` moves the survivors out of the collector's sight. Objects made later are
collected as usual. What a freeze also catches and is later dropped (a browser session alive at that moment, its
session state) is kept if it holds reference cycles: bounded by the number of freezes, about one per page's first
visit. Everything is unfrozen at exit, so extension objects are still released then.
"""

from __future__ import annotations

import atexit
import gc
import sys

_modules_when_frozen = 0


def freeze_long_lived() -> bool:
    """Collect once and freeze what survives, when modules were imported since the last freeze; True if it did."""
    global _modules_when_frozen
    if len(sys.modules) <= _modules_when_frozen:
        return False
    gc.collect()
    if not _modules_when_frozen:
        atexit.register(gc.unfreeze)  # frozen objects are otherwise never freed, not even at interpreter exit
    gc.freeze()
    _modules_when_frozen = len(sys.modules)
    return True
