"""What each role may do. Admins import or replace data, stop or delete anyone's runs and manage users; annotators
browse, relabel, train and predict, and stop or resume their own runs. The actions themselves call `check`."""

from __future__ import annotations

ADMIN, ANNOTATOR = "admin", "annotator"
ROLES = (ADMIN, ANNOTATOR)

# action -> (roles allowed, the words for "may not ..." in an error)
ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "import_data": (frozenset({ADMIN}), "import or replace the data set"),
    "manage_users": (frozenset({ADMIN}), "manage users"),
    "control_any_run": (frozenset({ADMIN}), "stop, resume or delete another person's run"),
    "relabel": (frozenset(ROLES), "relabel images"),
    "train": (frozenset(ROLES), "train models"),
    "predict": (frozenset(ROLES), "predict"),
}


class NotAllowed(PermissionError):
    """An action the signed-in account's role does not allow; the message says which and who may."""


def check_role(role: str) -> str:
    """The role unchanged when it is one of ROLES; ValueError otherwise."""
    if role not in ROLES:
        raise ValueError(f"a role is one of {', '.join(ROLES)}, got {role!r}")
    return role


def allows(role: str | None, action: str) -> bool:
    """Whether `role` may do `action`; `role` None means no accounts exist (a one-person tool: everything)."""
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r}")
    return role is None or role in ACTIONS[action][0]


def check(role: str | None, action: str) -> None:
    """Raise NotAllowed unless `role` may do `action`."""
    if not allows(role, action):
        roles, words = ACTIONS[action]
        raise NotAllowed(f"An {role} may not {words}; ask an {' or '.join(sorted(roles))}.")


def may_control_run(name: str | None, role: str | None, owner: str | None) -> bool:
    """Whether the account `name` (role `role`) may stop, resume or delete a run started by `owner`: its owner or
    an admin; anyone when no accounts exist (`role` None). A run without an owner belongs to the admins."""
    return role is None or allows(role, "control_any_run") or (owner is not None and owner == name)
