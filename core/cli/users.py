"""The `users` command: add, list and remove the studio's accounts (`core.users.store`).

The password is read from stdin when stdin is not a terminal (`echo "$PW" | python -m core users add ...`), else
asked twice without echo. Nothing here prints a password or its hash.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from core.users.roles import ROLES


def read_password(stdin=None) -> str:
    stdin = stdin or sys.stdin
    if not stdin.isatty():
        return stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != password:
        raise ValueError("the two passwords differ")
    return password


def user_store(args: argparse.Namespace):
    """The store named by --store, else users.json in --data-dir, else in the data folder."""
    from core.users.store import UserStore

    data_dir = getattr(args, "data_dir", None)
    return UserStore(args.store or (data_dir / "users.json" if data_dir else None))


def cmd_users_add(args: argparse.Namespace) -> int:
    password = None if args.oidc else read_password()
    account = user_store(args).add(args.name, args.role, password, replace=args.replace)
    how = "signs in through the identity provider" if args.oidc else "signs in with a password"
    print(f"{'changed' if args.replace else 'added'} {account.name} ({account.role}, {how})")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    accounts = user_store(args).accounts()
    if not accounts:
        print(
            "no accounts: the studio is a one-person tool on 127.0.0.1 (add one with "
            "`python -m core users add NAME --role admin`)"
        )
    for account in accounts:
        how = "password" if account.password_hash else "identity provider"
        print(f"{account.name:<32} {account.role:<10} {how:<18} since {account.created}")
    return 0


def cmd_users_remove(args: argparse.Namespace) -> int:
    account = user_store(args).remove(args.name)
    print(f"removed {account.name} ({account.role}); their label events keep their name")
    return 0


def add_user_commands(commands) -> None:
    parser = commands.add_parser("users", help="add, list or remove the studio's accounts (admins, annotators)")
    parser.add_argument("--store", default=None, help="user store file (default: users.json in the data folder)")
    users = parser.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    p = users.add_parser("add", help="add an account (password from stdin when piped, else asked)")
    p.add_argument("name", help="account name (normalised: case, width and invisible characters do not count)")
    p.add_argument("--role", choices=ROLES, required=True)
    p.add_argument(
        "--oidc",
        action="store_true",
        help="no password: the account signs in through the identity provider (name = its e-mail)",
    )
    p.add_argument("--replace", action="store_true", help="change an existing account's role and password")
    p.set_defaults(run=cmd_users_add)
    p = users.add_parser("list", help="list the accounts and their roles")
    p.set_defaults(run=cmd_users_list)
    p = users.add_parser("remove", help="remove an account")
    p.add_argument("name")
    p.set_defaults(run=cmd_users_remove)
