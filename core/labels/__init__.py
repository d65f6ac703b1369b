"""Labels: the relabel store (events in SQLite), the Relabel queue, exports."""
