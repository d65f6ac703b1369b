"""The command line, `python -m core <command>`: one module per group of commands.

A command imports what it needs when it runs (imports inside the `cmd_*` functions): torch, onnxruntime and the
data store stay off `python -m core --help` and off the commands that do not use them.
"""
