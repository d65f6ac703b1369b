"""Audit the installed requirements for known vulnerabilities; exit 1 on any that has a fix available.

pip-audit does the work where its vulnerability services answer (PyPI's per-release JSON or OSV). Where they do
not (this project's CI reaches the package index but neither of those), each package it could not audit is checked
against PyPI's per-project JSON, which lists the known vulnerabilities of the newest release: that is a full answer
for a package installed at its newest release, and for an older one it is printed as not audited, with who holds
it back, so nothing passes silently.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from packaging.requirements import Requirement
from packaging.version import Version

PROJECT_JSON = "https://pypi.org/pypi/{name}/json"


def run_pip_audit() -> list[dict]:
    """pip-audit's per-package results (each has `vulns` or a `skip_reason`)."""
    done = subprocess.run(
        [sys.executable, "-m", "pip_audit", "--skip-editable", "--progress-spinner", "off", "-f", "json"],
        capture_output=True,
        text=True,
    )
    try:
        return json.loads(done.stdout)["dependencies"]
    except (json.JSONDecodeError, KeyError):
        print(f"pip-audit gave no result (exit {done.returncode}): {done.stderr.strip()[-300:]}")
        return []


def newest_release(name: str) -> tuple[str | None, list[dict]]:
    """The newest release on PyPI and the vulnerabilities PyPI lists for it; None when PyPI does not answer."""
    try:
        with urllib.request.urlopen(PROJECT_JSON.format(name=name), timeout=30) as response:
            project = json.load(response)
    except (OSError, ValueError) as exc:
        print(f"  not audited: {name}: PyPI did not answer ({exc})")
        return None, []
    return project["info"]["version"], project.get("vulnerabilities") or []


def holders(name: str, newest: str) -> list[str]:
    """Installed packages whose requirements exclude the newest release of `name` (why it is held back)."""
    found = []
    for dist in importlib.metadata.distributions():
        for line in dist.requires or []:
            requirement = Requirement(line)
            wanted = requirement.marker is None or requirement.marker.evaluate({"extra": ""})
            if requirement.name.lower() == name and wanted and newest not in requirement.specifier:
                found.append(f"{dist.metadata['Name']} ({requirement.specifier})")
    return found


def main() -> int:
    installed = {d.metadata["Name"].lower(): d.version for d in importlib.metadata.distributions()}
    results = run_pip_audit()
    fixable = [
        (r["name"], r["version"], v["id"], v["fix_versions"])
        for r in results
        for v in r.get("vulns", [])
        if v.get("fix_versions")
    ]
    audited = {r["name"].lower() for r in results if "vulns" in r}
    unaudited = sorted(n for n in installed if n not in audited and n != "fer-studio")
    print(f"pip-audit audited {len(audited)} of {len(installed) - 1} installed packages")
    if unaudited:
        print(f"checking the other {len(unaudited)} against PyPI's project pages")
        with ThreadPoolExecutor(8) as pool:
            newest = dict(zip(unaudited, pool.map(newest_release, unaudited)))
        held_back = []
        for name, (version, vulns) in newest.items():
            mine = Version(installed[name])
            if version is None:
                held_back.append((name, installed[name], "unknown"))
                continue
            for vuln in vulns:  # listed for the newest release; ours is affected unless a fix predates it
                fixes = vuln.get("fixed_in") or []
                if any(mine < Version(f) for f in fixes):
                    fixable.append((name, installed[name], vuln["id"], fixes))
                elif not fixes:
                    print(f"  known, no fix yet: {name} {installed[name]}: {vuln['id']}")
            if mine < Version(version):  # PyPI lists vulnerabilities of the newest release only
                held_back.append((name, installed[name], version))
        current = len(newest) - len(held_back)
        print(f"{current} at their newest release with no known vulnerability listed")
        for name, mine, version in held_back:
            print(
                f"  not audited (per-release data unreachable): {name} {mine}, newest {version}; "
                f"capped by {', '.join(holders(name, version)) or 'nothing installed (our pin, or not upgraded)'}"
            )
    for name, version, vuln_id, fixes in fixable:
        print(f"VULNERABLE: {name} {version}: {vuln_id}, fixed in {', '.join(fixes) or '(no fix yet)'}")
    print(f"{len(fixable)} known vulnerabilities with a fix available")
    return 1 if fixable else 0


if __name__ == "__main__":
    sys.exit(main())
