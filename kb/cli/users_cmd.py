"""``kb users``: add users, list them, set passwords, change roles, disable (admin only,
except the very first user of a new knowledge base, who must be an admin), and
``kb users token``: the personal CLI tokens that ``cli_auth: token`` requires."""

from __future__ import annotations

import sys

import typer

from kb.cli.common import AS_OPTION, JSON_OPTION, STATE, console, emit, print_table
from kb.cli.identity import TOKEN_ENV
from review import tokens, users


def register(app: typer.Typer) -> None:
    """Add the ``users`` group to the app."""
    users_app = typer.Typer(help="Users and their roles.", no_args_is_help=True)
    users_app.command("add")(users_add)
    users_app.command("list")(users_list)
    users_app.command("set-password")(users_set_password)
    users_app.command("roles")(users_roles)
    users_app.command("disable")(users_disable)
    token_app = typer.Typer(
        help="Personal CLI tokens (needed when the cli_auth setting is 'token').",
        no_args_is_help=True,
    )
    token_app.command("create")(token_create)
    token_app.command("revoke")(token_revoke)
    token_app.command("list")(token_list)
    users_app.add_typer(token_app, name="token")
    app.add_typer(users_app, name="users")


def _read_password(from_stdin: bool, required: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if required:
        return typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return None


def users_add(
    name: str = typer.Argument(..., help="The user name."),
    roles: list[str] = typer.Option(
        ...,
        "--role",
        help="agent, author, reviewer, publisher, supervisor or admin (repeatable).",
    ),
    display_name: str = typer.Option("", "--display-name", help="A full name."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read a password from the first line of stdin."
    ),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Add a user (admin only; the first user of a new knowledge base must be an admin).

    With cli_auth 'token', the first admin needs no token and gets one, shown once.
    """
    password = _read_password(password_stdin, required=False)
    who = STATE.actor_or_bootstrap(actor)
    with STATE.db.session() as session:
        user = users.add_user(
            session, who, name, roles, password=password, display_name=display_name
        )
        data = users.user_dict(user)
        if who is None and STATE.config.cli_auth == "token":  # add_user bootstrapped
            data["token"] = tokens.create_token(session, name, name, note="first admin")[1]
    emit(data, as_json, _print_added)


def _print_added(data: dict) -> None:
    console.print(f"added {data['name']}: {', '.join(data['roles'])}", highlight=False)
    if "token" in data:
        _print_token(data["name"], data["token"])


def _print_token(name: str, clear: str) -> None:
    path = STATE.config.effective_cli_token_file
    console.print(
        f"CLI token of {name} (shown once; keep it in {TOKEN_ENV} or in {path} with chmod 600):",
        highlight=False,
    )
    console.print(clear, highlight=False, markup=False)


def users_list(actor: str | None = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """List the users and their roles."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        data = [users.user_dict(u) for u in users.list_users(session, who)]
    emit(
        data,
        as_json,
        lambda d: print_table(d, ["name", "display_name", "roles", "has_password", "disabled"]),
    )


def users_set_password(
    name: str = typer.Argument(..., help="The user name."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    actor: str | None = AS_OPTION,
) -> None:
    """Set a user's password (an admin, or the user themself)."""
    who = STATE.actor(actor)
    password = _read_password(password_stdin, required=True) or ""
    with STATE.db.session() as session:
        users.set_password(session, who, name, password)
    console.print(f"password set for {name}", highlight=False)


def users_roles(
    name: str = typer.Argument(..., help="The user name."),
    add: list[str] = typer.Option([], "--add", help="A role to add (repeatable)."),
    remove: list[str] = typer.Option([], "--remove", help="A role to remove (repeatable)."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Add or remove roles of a user (admin only)."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        data = users.user_dict(users.change_roles(session, who, name, add, remove))
    emit(
        data,
        as_json,
        lambda d: console.print(f"{d['name']}: {', '.join(d['roles'])}", highlight=False),
    )


def users_disable(
    name: str = typer.Argument(..., help="The user name."),
    enable: bool = typer.Option(False, "--enable", help="Enable the user again instead."),
    actor: str | None = AS_OPTION,
) -> None:
    """Disable a user (admin only); they can no longer act or log in."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        users.set_disabled(session, who, name, disabled=not enable)
    console.print(f"{name} {'enabled' if enable else 'disabled'}", highlight=False)


def token_create(
    name: str = typer.Argument(..., help="The user who gets the token."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Give a user a new CLI token, shown once (admin only); their previous one stops working."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        row, clear = tokens.create_token(session, who, name)
        data = {**tokens.token_dict(row), "token": clear}
    emit(data, as_json, lambda d: _print_token(d["user"], d["token"]))


def token_revoke(
    name: str = typer.Argument(..., help="The user whose token to revoke."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Revoke a user's CLI token (an admin, or the user themself); it stops working at once."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        data = tokens.token_dict(tokens.revoke_token(session, who, name))
    emit(
        data,
        as_json,
        lambda d: console.print(f"revoked the CLI token {d['prefix']} of {name}", highlight=False),
    )


def token_list(actor: str | None = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """List the CLI tokens (never the secret), revoked ones included."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        data = [tokens.token_dict(row) for row in tokens.list_tokens(session, who)]
    emit(
        data,
        as_json,
        lambda d: print_table(
            d, ["user", "prefix", "created_by", "created_at", "revoked_at", "active"]
        ),
    )
