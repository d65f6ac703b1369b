"""Who is using the studio: the login gate every page passes, and the checked actions the pages call.

Without accounts the studio is a one-person tool on this machine: no login, a typed annotator name, everything
allowed, and it refuses to serve beyond localhost. Once `python -m core users add` made an account, `gate` shows
only a login form until someone signs in: with a password (streamlit-authenticator: bcrypt hashes from
`core.users.store`, a signed cookie so a reload keeps the login), or through the lab's identity provider
(Streamlit's own `st.login`, OpenID Connect, configured in `.streamlit/secrets.toml` [auth]).

Roles are checked inside the actions (`require`, `stop_run`, `resume_run`, ...), on the server, every time they
run: a button hidden or disabled on screen is a courtesy, and a replayed websocket message reaches these checks.
The signed-in name lives in session state under a key no widget has, so a client message cannot set it.
"""

from __future__ import annotations

import sys

import streamlit as st

from core.jobs import runner
from core.users.roles import NotAllowed, allows, check, may_control_run
from core.users.run_owners import record_owner, run_owner
from core.users.store import Account, UserStore

ACCOUNT_KEY = "fer_signed_in_account"  # session state only: no widget has this key
COOKIE_NAME = "fer_studio_login"
COOKIE_DAYS = 7.0
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ADD_ACCOUNT_HINT = "python -m core users add NAME --role admin"


def accounts_on() -> bool:
    """Whether the studio has accounts (then every page needs a login)."""
    return UserStore().has_accounts()


def oidc_configured() -> bool:
    """Whether `.streamlit/secrets.toml` configures an identity provider for `st.login`."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file, or one that does not parse: no provider
        return False


def serves_beyond_localhost() -> bool:
    """Whether this server listens on more than the loopback address (`--server.address`). Under AppTest, which
    has no server, nothing listens."""
    from streamlit import runtime

    if not runtime.exists():
        return False
    return (st.get_option("server.address") or "") not in LOOPBACK


def gate() -> Account | None:
    """Before the router: the signed-in account, None when there are no accounts; otherwise the login form and
    st.stop(). Without accounts, a server open beyond localhost serves nothing but how to add one."""
    st.session_state.pop(ACCOUNT_KEY, None)  # decided afresh on every run from the login's own state
    store = UserStore()
    if not store.has_accounts():
        if serves_beyond_localhost():
            message = (
                f"FER Studio has no accounts, so it serves only 127.0.0.1. Add an account first: "
                f"`{ADD_ACCOUNT_HINT}`, then start it again."
            )
            print(message, file=sys.stderr)
            st.error(message)
            st.stop()
        return None
    account = signed_in(store)
    if account is None:
        st.stop()
    st.session_state[ACCOUNT_KEY] = account.name
    return account


def signed_in(store: UserStore) -> Account | None:
    """The account signed in through the identity provider or with a password, else None (the form is shown)."""
    if oidc_configured() and st.user.is_logged_in:
        email = str(st.user.get("email") or "")
        account = store.get(email)
        if account is None:
            st.error(
                f"{email or 'This identity'} has no account here; an admin adds it with "
                f"`python -m core users add {email or 'EMAIL'} --role annotator --oidc`."
            )
            st.button("Sign out", on_click=st.logout)
            return None
        with st.sidebar:
            st.caption(f"Signed in as **{account.name}** ({account.role})")
            st.button("Sign out", key="auth_sign_out", on_click=st.logout)
        return account
    return password_login(store)


def password_login(store: UserStore) -> Account | None:
    """streamlit-authenticator's login form over the accounts that have a password."""
    import streamlit_authenticator as stauth

    credentials = {
        "usernames": {
            a.name: {"password": a.password_hash, "roles": [a.role], "first_name": a.name, "last_name": "", "email": ""}
            for a in store.accounts()
            if a.password_hash
        }
    }
    authenticator = stauth.Authenticate(credentials, COOKIE_NAME, store.cookie_key(), COOKIE_DAYS, auto_hash=False)
    if not st.session_state.get("authentication_status"):
        st.title("FER Studio")
        if oidc_configured():
            st.button("Sign in with your organisation's account", type="primary", on_click=st.login)
    try:
        authenticator.login(
            location="main", key="fer_login", fields={"Form name": "Sign in", "Username": "Name", "Login": "Sign in"}
        )
    except Exception as exc:  # the library's LoginError (a removed account's cookie, bad input): one line
        st.error(f"Not signed in: {exc}")
        return None
    if st.session_state.get("authentication_status") is False:
        st.error("Wrong name or password.")
    if not st.session_state.get("authentication_status"):
        return None
    account = store.get(st.session_state.get("username") or "")
    if account is None or not account.password_hash:  # removed since the cookie was made
        authenticator.logout(location="unrendered")
        st.error("That account no longer exists.")
        return None
    with st.sidebar:
        st.caption(f"Signed in as **{account.name}** ({account.role})")
        authenticator.logout("Sign out", location="sidebar", key="auth_sign_out")
    return account


def current_account() -> Account | None:
    """The account this session signed in as, read afresh from the store (a removed account or a changed role
    counts at once); None when there are no accounts. NotAllowed when accounts exist and nobody signed in."""
    store = UserStore()
    if not store.has_accounts():
        return None
    name = st.session_state.get(ACCOUNT_KEY)
    account = store.get(name) if name else None
    if account is None:
        raise NotAllowed("Sign in first.")
    return account


def require(action: str) -> Account | None:
    """The acting account when its role may do `action` (None without accounts); NotAllowed otherwise."""
    account = current_account()
    check(account.role if account else None, action)
    return account


def may(action: str) -> bool:
    """Whether this session may do `action` (to disable a button; the action checks again)."""
    try:
        require(action)
        return True
    except NotAllowed:
        return False


def guard(action: str) -> Account | None:
    """`require` for a page's straight-line code: on refusal, the reason on screen and the script stops."""
    try:
        return require(action)
    except NotAllowed as exc:
        st.error(str(exc))
        st.stop()


def may_control(run_id: str) -> bool:
    """Whether this session may stop, resume or delete run `run_id` (its owner, or an admin)."""
    try:
        account = current_account()
    except NotAllowed:
        return False
    return may_control_run(account.name if account else None, account.role if account else None, run_owner(run_id))


def require_control(run_id: str) -> None:
    if not may_control(run_id):
        owner = run_owner(run_id)
        raise NotAllowed(
            f"Run {run_id} was started by {owner or 'someone else'}: only they or an admin may "
            "stop, resume or delete it."
        )


def start_run(config, run_id: str | None = None, dataset=None) -> str:
    """runner.start_run for the signed-in account, recorded as the run's owner; with the `dataset` the run will
    read, a class set that cannot train on it is refused first."""
    from core.jobs.label_sources import check_trainable  # lazy: torch, only when a run is started

    account = require("train")
    if dataset is not None:
        check_trainable(dataset, config)
    run_id = runner.start_run(config, run_id=run_id)
    if account is not None:
        record_owner(run_id, account.name)
    return run_id


def stop_run(run_id: str) -> None:
    """runner.stop, for the run's owner or an admin only."""
    require_control(run_id)
    runner.stop(run_id)


def resume_run(run_id: str) -> None:
    """runner.resume, for the run's owner or an admin only."""
    require_control(run_id)
    runner.resume(run_id)


def annotator_name(typed: str) -> tuple[str, str | None]:
    """The name label events are recorded under, and why a typed one cannot be used (or None): the signed-in
    account when there are accounts (a typed name is ignored), else the typed name normalised."""
    from core.users.names import normalise_name

    try:
        account = current_account()
    except NotAllowed as exc:
        return "", str(exc)
    if account is not None:
        return account.name, None
    if not typed.strip():
        return "", None
    try:
        return normalise_name(typed), None
    except ValueError as exc:
        return "", f"Annotator: {exc}"


__all__ = [
    "NotAllowed",
    "allows",
    "gate",
    "require",
    "guard",
    "may",
    "may_control",
    "start_run",
    "stop_run",
    "resume_run",
    "annotator_name",
    "current_account",
    "accounts_on",
]
