"""The README against the tree: its Layout table names real paths and every package, and its commands parse."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from core.cli.main import build_parser

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The README's text under `## title`, up to the next `## ` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def layout_paths() -> set[str]:
    """Every backquoted path in the first column of the Layout table."""
    paths = set()
    for line in section("Layout").splitlines():
        if line.startswith("| `"):
            paths.update(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return paths


def packages() -> set[str]:
    """Every package folder (with an `__init__.py`) under core/ and app/, as `dir/`, plus pages/ (core/ itself is
    checked module by module: see ground_modules)."""
    found = {"pages/"}
    for top in ("core", "app"):
        for init in (REPO / top).rglob("__init__.py"):
            found.add(init.parent.relative_to(REPO).as_posix() + "/")
    return found - {"core/"}


def ground_modules() -> set[str]:
    """core's top-level modules (the ground layer), as `core/NAME.py`."""
    return {f"core/{p.name}" for p in (REPO / "core").glob("*.py") if p.name not in ("__init__.py", "__main__.py")}


def test_layout_names_only_existing_paths():
    missing = sorted(p for p in layout_paths() if not (REPO / p).exists())
    assert not missing, f"README's Layout table names paths that do not exist: {missing}"


def test_layout_names_every_package_and_ground_module():
    unnamed = sorted((packages() | ground_modules()) - layout_paths())
    assert not unnamed, f"README's Layout table does not name {unnamed}: add a row (or the name to a row)"


def test_layout_paths_are_written_as_folders_or_files():
    for path in layout_paths():
        assert path.endswith("/") or Path(path).suffix, f"{path!r}: folders end with '/', files have a suffix"


def cli_commands() -> dict[str, argparse.ArgumentParser]:
    """The CLI's subcommands and their parsers, read from the parser itself."""
    (action,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def readme_command_lines() -> list[str]:
    """The README's `python -m core ...` lines inside code blocks, continuation lines joined, comments cut."""
    lines = []
    for block in re.findall(r"^```(?:bash)?\n(.*?)^```", README, re.M | re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if "-m core " in line:
                lines.append(line.split(" #")[0].strip())
    return lines


def test_readme_names_only_real_commands():
    commands = cli_commands()
    named = set(re.findall(r"-m core ([a-z][a-z0-9-]*)", README))
    assert named, "README names no `python -m core` command"
    unknown = sorted(named - set(commands) - {"--help"})
    assert not unknown, f"README names commands the CLI does not have: {unknown} (it has {sorted(commands)})"


@pytest.mark.parametrize("line", readme_command_lines())
def test_readme_command_lines_parse(line):
    """Each command line in a code block parses with the CLI's own parser (flags, choices, required options)."""
    words = shlex.split(line)
    assert words[0] == ".venv/bin/python", f"{line!r}: write the venv's python, the system one lacks the requirements"
    argv = words[words.index("core") + 1 :]
    if argv in (["--help"], ["COMMAND", "--help"]):
        return
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"{line!r} does not parse (exit {exc.code})")


def test_readme_is_short():
    assert len(README.splitlines()) <= 250, "README.md is over 250 lines: move the detail to docs/"


def test_readme_links_and_pictures_exist():
    targets = re.findall(r"\]\(((?:docs/)[^)#]+)\)", README)
    assert targets, "README links to nothing in docs/"
    missing = sorted(t for t in targets if not (REPO / t).is_file())
    assert not missing, f"README links to missing files: {missing}"


def test_docs_pictures_exist():
    for doc in (REPO / "docs").glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+\.(?:png|md))\)", doc.read_text(encoding="utf-8")):
            assert (doc.parent / target).is_file(), f"{doc.name} links to missing {target}"
