"""Accounts: names normalised, passwords only as bcrypt hashes, roles, the run owners and the `users` command."""

from __future__ import annotations

import io
import json
import stat

import pytest

from core.cli.main import main
from core.cli.users import read_password
from core.users.names import MAX_NAME_CHARS, normalise_name
from core.users.roles import ADMIN, ANNOTATOR, NotAllowed, allows, check, may_control_run
from core.users.run_owners import record_owner, run_owner
from core.users.store import UserStore, hash_password, password_matches


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "data"))
    return UserStore()


@pytest.mark.parametrize(
    "typed", ["Alice", "ALICE", " alice ", "alice\u200b", "\u200dAl\u00adice", "\uff21lice", "alice\x00"]
)
def test_case_width_and_invisible_characters_make_no_new_person(typed):
    assert normalise_name(typed) == "alice"


def test_inner_spaces_collapse_and_unicode_casefolds():
    assert normalise_name("Anna   Maria\tB") == "anna maria b"
    assert normalise_name("STRASSE") == normalise_name("Straße") == "strasse"


@pytest.mark.parametrize(
    "typed, problem", [("", "required"), ("\u200b\u200c", "required"), ("x" * (MAX_NAME_CHARS + 1), "at most 64")]
)
def test_empty_or_too_long_names_are_refused_in_one_line_never_cut(typed, problem):
    with pytest.raises(ValueError, match=problem) as error:
        normalise_name(typed)
    assert "\n" not in str(error.value)


def test_passwords_are_kept_only_as_bcrypt_hashes(store):
    store.add("Alice", ADMIN, "correct horse")
    text = store.path.read_text()
    assert "correct horse" not in text
    saved = json.loads(text)["accounts"]["alice"]["password_hash"]
    assert saved.startswith("$2b$") and password_matches("correct horse", saved)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.verify("ALICE", "correct horse").role == ADMIN
    assert store.verify("alice", "Correct horse") is None and store.verify("nobody", "correct horse") is None


@pytest.mark.parametrize(
    "password, problem", [("short", "at least 8"), (" padded pw ", "space"), ("é" * 40, "at most 72 bytes")]
)
def test_unusable_passwords_are_refused(password, problem):
    with pytest.raises(ValueError, match=problem):
        hash_password(password)


def test_checking_never_raises_on_what_a_visitor_types():
    saved = hash_password("correct horse")
    assert not password_matches("x" * 500, saved) and not password_matches("correct horse", None)
    assert not password_matches("correct horse", "not a hash")


def test_add_remove_and_the_last_admin(store):
    assert not store.has_accounts()
    store.add("ada", ADMIN, "ada-password")
    store.add("bob", ANNOTATOR, "bob-password")
    with pytest.raises(ValueError, match="exists already"):
        store.add("BOB", ANNOTATOR, "another-password")
    store.add("bob", ADMIN, "another-password", replace=True)
    assert store.get("bob").role == ADMIN and store.verify("bob", "another-password")
    store.remove("bob")
    with pytest.raises(ValueError, match="last admin"):
        store.add("cy", ANNOTATOR, None) and store.remove("ada")
    assert [a.name for a in store.accounts()] == ["ada", "cy"]
    assert store.get("cy").password_hash is None  # an identity-provider account
    with pytest.raises(ValueError, match="no account"):
        store.remove("zed")
    with pytest.raises(ValueError, match="role"):
        store.add("dan", "superuser", "dan-password")


def test_the_cookie_key_is_made_once_and_kept(store):
    store.add("ada", ADMIN, "ada-password")
    key = store.cookie_key()
    assert len(key) == 64 and UserStore(store.path).cookie_key() == key


def test_roles():
    assert allows(ADMIN, "import_data") and not allows(ANNOTATOR, "import_data")
    assert all(allows(ANNOTATOR, a) for a in ("relabel", "train", "predict"))
    assert allows(None, "import_data")  # no accounts: a one-person tool
    with pytest.raises(NotAllowed, match="An annotator may not import or replace the data set; ask an admin"):
        check(ANNOTATOR, "import_data")
    assert may_control_run("bob", ANNOTATOR, "bob") and not may_control_run("bob", ANNOTATOR, "ada")
    assert not may_control_run("bob", ANNOTATOR, None)  # a run without an owner belongs to the admins
    assert may_control_run("ada", ADMIN, "bob") and may_control_run(None, None, "bob")


def test_run_owners(tmp_path):
    (tmp_path / "r1").mkdir()
    assert run_owner("r1", tmp_path) is None
    record_owner("r1", "bob", tmp_path)
    assert run_owner("r1", tmp_path) == "bob"
    with pytest.raises(ValueError):
        record_owner("../elsewhere", "bob", tmp_path)


def test_cli_add_list_remove(store, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("ada-password\n"))
    assert main(["users", "add", "Ada", "--role", "admin"]) == 0
    assert main(["users", "add", "carol@lab.org", "--role", "annotator", "--oidc"]) == 0
    assert main(["users", "list"]) == 0
    out = capsys.readouterr().out
    assert "added ada (admin, signs in with a password)" in out and "ada-password" not in out
    assert "carol@lab.org" in out and "identity provider" in out and "$2b$" not in out
    assert store.verify("ada", "ada-password")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "add", "bob", "--role", "annotator"]) == 1
    assert "at least 8 characters" in capsys.readouterr().err
    assert main(["users", "remove", "carol@lab.org"]) == 0 and store.get("carol@lab.org") is None
    assert main(["users", "add", "x" * 65, "--role", "admin", "--oidc"]) == 1
    assert capsys.readouterr().err.strip() == "error: a name has at most 64 characters, got 65"


def test_a_terminal_is_asked_twice_without_echo(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    answers = iter(["pw-one-two", "pw-one-two", "pw-one-two", "different"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    assert read_password(Terminal()) == "pw-one-two"
    with pytest.raises(ValueError, match="differ"):
        read_password(Terminal())
