"""Roles, actions and the permission checks every review action makes.

The service layer checks here, not the front ends, so the CLI, the API and the
Streamlit app get the same rules. A refusal raises ``Forbidden`` and is always
recorded as an audit event with outcome ``refused``; the record survives the
caller rolling back its transaction (see ``refuse``).

Roles (a user may hold several):

* agent: read published knowledge;
* author: create and edit drafts, submit them, comment, keep golden questions;
* reviewer: approve or reject versions in review, comment, keep golden questions;
* publisher: publish approved versions (overriding a broken golden answer with a
  reason), archive, roll back, comment, keep golden questions;
* supervisor: read published knowledge (as an agent), and see who has acknowledged the
  change feed and the team's practice results (``Action.SUPERVISE``; review.feed,
  review.practice);
* admin: everything (users, keys, bootstrap publication), except that nobody,
  admin included, approves or rejects a version whose content they wrote any part
  of (four-eyes, using ``ArticleVersion.editors``: the authors of the change since
  the last published version, carried over from every unreviewed version it was
  based on; see ``kb.store.articles.authors_building_on``).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from kb.errors import Forbidden, InvalidInput
from kb.store.tables import ArticleVersion, User
from review import audit
from review.locking import holds_write_lock


class Role(StrEnum):
    """What a user may do; a user holds one or more."""

    AGENT = "agent"
    AUTHOR = "author"
    REVIEWER = "reviewer"
    PUBLISHER = "publisher"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Action(StrEnum):
    """Everything the service layer checks (also the audit ``action`` names)."""

    READ = "read"
    VIEW_DRAFTS = "view_drafts"
    CREATE = "create"
    EDIT = "edit"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    PUBLISH = "publish"
    ARCHIVE = "archive"
    ROLLBACK = "rollback"
    COMMENT = "comment"
    IMPORT = "import"
    BOOTSTRAP_PUBLISH = "bootstrap_publish"
    MANAGE_USERS = "manage_users"
    MANAGE_GOLDEN = "manage_golden"
    OVERRIDE_GOLDEN = "override_golden"
    SUPERVISE = "supervise"  # who acknowledged the change feed; the team's practice
    ASSIGN_QUEUE = "assign_queue"  # give unanswered groups to others (review.queue)


_EDITING = {Action.READ, Action.VIEW_DRAFTS, Action.COMMENT, Action.MANAGE_GOLDEN}
ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.AGENT: frozenset({Action.READ}),
    Role.AUTHOR: frozenset(_EDITING | {Action.CREATE, Action.EDIT, Action.SUBMIT, Action.IMPORT}),
    Role.REVIEWER: frozenset(_EDITING | {Action.APPROVE, Action.REJECT, Action.ASSIGN_QUEUE}),
    Role.PUBLISHER: frozenset(
        _EDITING
        | {
            Action.PUBLISH,
            Action.ARCHIVE,
            Action.ROLLBACK,
            Action.OVERRIDE_GOLDEN,
            Action.ASSIGN_QUEUE,
        }
    ),
    Role.SUPERVISOR: frozenset({Action.READ, Action.SUPERVISE}),
    Role.ADMIN: frozenset(Action),
}
FOUR_EYES_ACTIONS = frozenset({Action.APPROVE, Action.REJECT})


def parse_roles(names: Iterable[str]) -> list[Role]:
    """Roles from names, de-duplicated in the canonical order; InvalidInput on unknown."""
    wanted = set()
    for name in names:
        try:
            wanted.add(Role(name.strip().lower()))
        except ValueError:
            choices = ", ".join(r.value for r in Role)
            raise InvalidInput(f"unknown role '{name}' (choose from {choices})") from None
    return [role for role in Role if role in wanted]


def roles_allowed(action: Action) -> list[Role]:
    """The roles that grant an action."""
    return [role for role in Role if action in ROLE_ACTIONS[role]]


def user_may(user: User, action: Action) -> bool:
    """True when one of the user's roles grants the action (four-eyes aside)."""
    known = {role.value: role for role in Role}
    return any(action in ROLE_ACTIONS[known[r]] for r in user.roles or [] if r in known)


def find_user(session: Session, name: str) -> User | None:
    """The user with this name, or None (re-read: roles may have changed meanwhile)."""
    query = select(User).where(User.name == name).execution_options(populate_existing=True)
    return session.scalar(query)


def refuse(
    session: Session,
    actor: str,
    action: Action | str,
    reason: str,
    *,
    article_id: str | None = None,
    version: ArticleVersion | None = None,
) -> Forbidden:
    """Record a refusal in the audit log and return the ``Forbidden`` to raise.

    The record must survive the caller rolling back. If the caller's session
    holds no write lock, it is written and committed at once in a separate
    short transaction; otherwise (writing now would wait on the caller's own
    lock) it is written in a separate transaction as soon as the caller's
    transaction ends, whether it commits or rolls back. (The separate
    transaction needs a database that a second connection can reach: a file or
    a server, not SQLite ``:memory:``.)
    """
    record = audit.Event(
        actor=actor or "(nobody)",
        action=str(action),
        outcome="refused",
        article_id=article_id or (version.article_id if version is not None else None),
        version=version.version if version is not None else None,
        from_state=version.state if version is not None else None,
        comment=reason,
        content_hash=version.content_hash if version is not None else None,
    )
    if holds_write_lock(session):
        _after_transaction(session, record)
    else:
        _write_now(session, record)
    return Forbidden(reason)


def _write_now(session: Session, record: audit.Event) -> None:
    with Session(session.get_bind()) as separate, separate.begin():
        audit.append(separate, record)


def _after_transaction(session: Session, record: audit.Event) -> None:
    session.info.setdefault("kb_pending_refusals", []).append(record)
    if not session.info.get("kb_refusal_listener"):
        session.info["kb_refusal_listener"] = True
        event.listen(session, "after_transaction_end", _flush_refusals)


def _flush_refusals(session: Session, transaction) -> None:
    if transaction.parent is not None or transaction.nested:
        return
    pending = session.info.pop("kb_pending_refusals", [])
    if pending:
        with Session(session.get_bind()) as separate, separate.begin():
            audit.append_many(separate, pending)


def authorize(
    session: Session,
    actor: str,
    action: Action,
    *,
    article_id: str | None = None,
    version: ArticleVersion | None = None,
) -> User:
    """The acting user, if they exist, are enabled and a role grants ``action``.

    Otherwise the refusal is audited and ``Forbidden`` raised.
    """
    user = find_user(session, actor) if actor else None
    if user is None:
        reason = f"unknown user '{actor}'" if actor else "no acting user given"
    elif user.disabled:
        reason = f"user '{actor}' is disabled"
    elif user_may(user, action):
        return user
    else:
        needed = " or ".join(r.value for r in roles_allowed(action))
        held = ", ".join(user.roles) or "no role"
        reason = f"{actor} ({held}) may not {action}: needs the {needed} role"
    raise refuse(session, actor, action, reason, article_id=article_id, version=version)


def check_four_eyes(session: Session, user: User, action: Action, row: ArticleVersion) -> None:
    """Refuse approving or rejecting a version whose content the user wrote any part of."""
    if action in FOUR_EYES_ACTIONS and user.name in (row.editors or []):
        reason = (
            f"{user.name} wrote part of article '{row.article_id}' version {row.version} "
            f"(or of the unreviewed version it is based on) and may not {action} it "
            "(four-eyes rule: someone else must review it)"
        )
        raise refuse(session, user.name, action, reason, version=row)
