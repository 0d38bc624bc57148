"""Who is acting on the CLI.

With ``cli_auth: off`` (the default) the acting user is whoever ``--as`` (or the
'actor' setting) names: nothing is checked, because on a single-machine install the
person who can run kb and read the database is the operator and trusted anyway.

With ``cli_auth: token`` a command that acts as a user must present that user's
personal token, from the ``KB_TOKEN`` environment variable or else the token file
(setting ``cli_token_file``, default ``~/.config/kb/token``), which must be readable by
its owner only. The token alone names the user; ``--as`` or 'actor', if given, must
name the same user. Every refusal is audited (``review.tokens``).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import select

from kb.config import Config
from kb.errors import InvalidInput
from kb.store.db import Database
from kb.store.tables import User
from review import tokens
from review.permissions import refuse

TOKEN_ENV = "KB_TOKEN"
MAX_TOKEN_FILE_BYTES = 4096


def _claimed(config: Config, given: str | None) -> str | None:
    return (given or config.actor or "").strip() or None


def read_token_file(path: Path) -> str | None:
    """The token in ``path``; None if there is no such file or it is empty.

    InvalidInput (naming the file) if group or others have any access to it, or it
    cannot be read.
    """
    try:
        with path.open("rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise InvalidInput(f"the token file {path} is not a regular file")
            if os.name == "posix" and mode & 0o077:
                raise InvalidInput(
                    f"the token file {path} is open to group or others "
                    f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}"
                )
            data = handle.read(MAX_TOKEN_FILE_BYTES)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InvalidInput(f"cannot read the token file {path}: {exc.strerror}") from None
    try:
        return data.decode("utf-8").strip() or None
    except UnicodeDecodeError:
        raise InvalidInput(f"the token file {path} is not UTF-8 text") from None


def presented_token(config: Config) -> str | None:
    """The token this process presents: ``KB_TOKEN``, else the token file, else None."""
    from_env = os.environ.get(TOKEN_ENV, "").strip()
    return from_env or read_token_file(config.effective_cli_token_file)


def acting_user(config: Config, database: Database, given: str | None) -> str:
    """The acting user's name: ``--as``/'actor' when cli_auth is off, else proven by token."""
    claimed = _claimed(config, given)
    if config.cli_auth == "off":
        if not claimed:
            raise InvalidInput("name the acting user with --as NAME (or the 'actor' setting)")
        return claimed
    with database.session() as session:
        try:
            token = presented_token(config)
        except InvalidInput as exc:
            raise refuse(session, claimed or "", tokens.AUTH_ACTION, exc.message) from None
        if token is None:
            path = config.effective_cli_token_file
            reason = (
                f"cli_auth is 'token': no CLI token given (set {TOKEN_ENV} or write your "
                f"token to {path} with chmod 600)"
            )
            raise refuse(session, claimed or "", tokens.AUTH_ACTION, reason)
        return tokens.identify(session, token, claimed)


def bootstrap_or_acting_user(config: Config, database: Database, given: str | None) -> str | None:
    """For ``kb users add``: None while the knowledge base has no user (the first admin
    needs neither --as nor a token), else the acting user (checked as ``acting_user``).

    With cli_auth off, the claimed name as before (None if none): ``review.users``
    decides whether one was needed.
    """
    if config.cli_auth == "off":
        return _claimed(config, given)
    with database.session() as session:
        has_users = session.scalar(select(User.id).limit(1)) is not None
    return acting_user(config, database, given) if has_users else None
