"""Command-line flags generated from a config dataclass's fields, and the config read back from parsed flags.

A field's annotation gives the flag's type, its default the flag's default, its metadata (see
core.training.config.option) the help, choices and custom flag names. Nested option dataclasses (augment) get
one flag per inner field plus `--no-NAME`, which starts from the field's `off` value.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import typing
from typing import Any

from core.options import field_default, option_fields, parse_option


class ConfigFlag(argparse.Action):
    """Stores a flag's value and notes its field as given, so `--no-augment` only resets what was not typed."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if self.nargs == 0:
            values = self.const
        elif isinstance(self.default, dict):  # KEY=VALUE, repeatable: one dict entry per flag
            values = {**getattr(namespace, self.dest), **dict([parse_option(values)])}
        setattr(namespace, self.dest, values)
        namespace.given = {*namespace.given, self.dest}


def flag_names(f: dataclasses.Field, hint: Any) -> tuple[str, ...]:
    if "flag" in f.metadata:
        return tuple(f.metadata["flag"])
    negated = dataclasses.is_dataclass(hint) or (hint is bool and field_default(f) is True)
    return (("--no-" if negated else "--") + f.name.replace("_", "-"),)


def flag_kwargs(f: dataclasses.Field, hint: Any, default: Any) -> dict[str, Any]:
    """add_argument's keywords for one field besides its names and dest."""
    meta = f.metadata
    shown = meta.get("help", "").replace("%", "%%") + " (default: %(default)s)"  # argparse %-formats help
    kwargs: dict[str, Any] = {
        "default": default,
        "help": shown,
        "action": ConfigFlag,
        "metavar": None if "choices" in meta else f.name.upper(),
    }
    if hint is bool:  # a switch: --X turns a False default on, --no-X a True one off
        return {
            **kwargs,
            "nargs": 0,
            "const": not default,
            "metavar": None,
            "help": ("turn off: " if default else "") + meta.get("help", "").replace("%", "%%"),
        }
    if typing.get_origin(hint) is dict:
        return {**kwargs, "metavar": "KEY=VALUE"}
    if typing.get_origin(hint) is list:
        return {**kwargs, "type": typing.get_args(hint)[0], "nargs": "+"}
    return {**kwargs, "type": hint, "choices": meta.get("choices")}


def add_config_flags(parser: argparse.ArgumentParser, cls: type, prefix: str = "") -> None:
    """One flag per field of `cls`; dests are the field names (`augment.flip` inside a nested options field)."""
    parser.set_defaults(given=frozenset())
    for f, hint in option_fields(cls):
        dest = prefix + f.name
        if dataclasses.is_dataclass(hint):
            parser.add_argument(
                *flag_names(f, hint),
                dest=dest,
                action=ConfigFlag,
                nargs=0,
                const=True,
                default=False,
                help=f.metadata.get("help", ""),
            )
            add_config_flags(parser, hint, prefix=f"{dest}.")
            continue
        parser.add_argument(*flag_names(f, hint), dest=dest, **flag_kwargs(f, hint, field_default(f)))


def config_from_args(args: argparse.Namespace, cls: type) -> Any:
    """The `cls` the parsed flags describe; the inverse of add_config_flags."""
    values = {}
    for f, hint in option_fields(cls):
        if dataclasses.is_dataclass(hint):
            values[f.name] = nested_from_args(args, f, hint, f.name)
        else:
            values[f.name] = copy.deepcopy(getattr(args, f.name))  # parser defaults are shared by every parse
    return cls(**values)


def nested_from_args(args: argparse.Namespace, f: dataclasses.Field, hint: type, dest: str) -> Any:
    """A nested options field: its defaults, or its `off` value after --no-NAME, with the inner flags typed."""
    base = f.metadata["off"] if getattr(args, dest) else field_default(f)
    inner = {
        g.name: getattr(args, f"{dest}.{g.name}") for g in dataclasses.fields(hint) if f"{dest}.{g.name}" in args.given
    }
    return dataclasses.replace(base, **inner)
