"""The studio's accounts: one JSON file in the data folder (`users.json`), replaced atomically under a lock, holding
each account's role and a bcrypt hash of its password (never the password), plus the key that signs login cookies.

An account without a password hash signs in only through the identity provider (OpenID Connect, `st.login`): its
name is the e-mail address the provider reports. Names are normalised (`core.users.names`) on the way in and on
every look-up, so "Alice", "ALICE" and "alice\u200b" are one account.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import bcrypt

from core.files import exclusive_lock, write_atomically
from core.paths import data_dir
from core.users.names import normalise_name
from core.users.roles import ADMIN, check_role

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_BYTES = 72  # bcrypt reads no further (bcrypt 5 refuses longer ones)


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    password_hash: str | None  # None: signs in through the identity provider only
    created: str


def check_password(password: str) -> str:
    """The password unchanged when usable; ValueError (one line) otherwise. Surrounding spaces are refused because
    the login form strips them."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"a password has at least {MIN_PASSWORD_CHARS} characters")
    if password != password.strip():
        raise ValueError("a password cannot start or end with a space")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ValueError(f"a password has at most {MAX_PASSWORD_BYTES} bytes (bcrypt reads no further)")
    return password


def hash_password(password: str) -> str:
    return bcrypt.hashpw(check_password(password).encode(), bcrypt.gensalt()).decode()


def password_matches(password: str, password_hash: str | None) -> bool:
    """Whether `password` is the one hashed; False for any unusable input (never raises on what a visitor types)."""
    if not password_hash or not isinstance(password, str) or len(password.encode()) > MAX_PASSWORD_BYTES:
        return False
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:
        return False


class UserStore:
    """Accounts in `path` (default `<data>/users.json`); every method reads the file afresh, so a change made by
    the CLI counts at the studio's next rerun."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else data_dir() / "users.json"

    def read(self) -> dict[str, Any]:
        try:
            content = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"accounts": {}}
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{self.path} cannot be read as the user store: {exc}") from exc
        if not isinstance(content, dict) or not isinstance(content.get("accounts"), dict):
            raise ValueError(f"{self.path} is not a user store (no 'accounts')")
        return content

    def write(self, content: dict[str, Any]) -> None:
        def dump(handle) -> None:
            os.fchmod(handle.fileno(), 0o600)  # hashes and the cookie key: for this user only
            json.dump(content, handle, indent=2, ensure_ascii=False)

        write_atomically(self.path, dump)

    def accounts(self) -> list[Account]:
        return [Account(name, **values) for name, values in sorted(self.read()["accounts"].items())]

    def has_accounts(self) -> bool:
        """Whether any account exists (the studio then requires a login on every page)."""
        return self.path.is_file() and bool(self.read()["accounts"])

    def get(self, name: str) -> Account | None:
        try:
            key = normalise_name(name)
        except ValueError:
            return None
        values = self.read()["accounts"].get(key)
        return Account(key, **values) if values else None

    def add(self, name: str, role: str, password: str | None, *, replace: bool = False) -> Account:
        """Create (or with `replace`, change) an account; `password` None makes an identity-provider account."""
        key, role = normalise_name(name), check_role(role)
        password_hash = hash_password(password) if password is not None else None
        with self.locked():
            content = self.read()
            if key in content["accounts"] and not replace:
                raise ValueError(f"an account called {key!r} exists already (--replace changes it)")
            content.setdefault("cookie_key", secrets.token_hex(32))
            created = content["accounts"].get(key, {}).get("created") or utc_now()
            content["accounts"][key] = {"role": role, "password_hash": password_hash, "created": created}
            self.write(content)
        return Account(key, role, password_hash, created)

    def remove(self, name: str) -> Account:
        """Delete an account; the last admin cannot go while other accounts remain (nobody could manage them)."""
        key = normalise_name(name)
        with self.locked():
            content = self.read()
            if key not in content["accounts"]:
                raise ValueError(f"there is no account called {key!r}")
            values = content["accounts"].pop(key)
            admins = [n for n, v in content["accounts"].items() if v["role"] == ADMIN]
            if values["role"] == ADMIN and content["accounts"] and not admins:
                raise ValueError(f"{key!r} is the last admin: add another admin first, or remove the others")
            self.write(content)
        return Account(key, **values)

    def verify(self, name: str, password: str) -> Account | None:
        """The account when `password` is its password, else None."""
        account = self.get(name)
        return account if account is not None and password_matches(password, account.password_hash) else None

    def cookie_key(self) -> str:
        """The secret that signs login cookies (made with the first account)."""
        with self.locked():
            content = self.read()
            if "cookie_key" not in content:
                content["cookie_key"] = secrets.token_hex(32)
                self.write(content)
            return content["cookie_key"]

    def locked(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return exclusive_lock(self.path.with_name(self.path.name + ".lock"))


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
