"""Auditing a data set: duplicates, leaks between splits, image problems, and a 2-D map of every face."""
