"""The article lifecycle: who may do what, to which version, and the record of it.

Every function takes the caller's SQLAlchemy session (one transaction) and the
acting user's name, checks the user's roles, performs the change and appends
the audit event in that transaction; a refusal raises ``kb.errors.Forbidden``
and is audited even though the caller rolls back.

* ``review.editing``: ``create_draft``, ``save_draft``, ``new_draft``
* ``review.workflow``: ``submit``, ``approve``, ``reject``, ``publish``, ``archive``,
  ``rollback``, ``comment``
* ``review.importing``: ``import_articles`` (drafts, or an admin's bootstrap publication)
* ``review.publishing``: ``transaction`` / ``index_after_commit``, how every front end's
  publishing action reaches the search index (in its transaction with ``search_store: postgres``)
* ``review.queries``: ``review_queue``, ``article_history``, ``stale_articles``
* ``review.diff``: ``diff_versions``, ``render_plain``, ``render_rich``
* ``review.users``: ``add_user``, ``list_users``, ``set_password``, ``change_roles``,
  ``set_disabled``, ``authenticate``
* ``review.audit``: the hash chain, ``verify``
* ``kb.store.outbox``: the index outbox contract (``IndexUpdater``, ``dispatch``, ``notify``)
* ``review.permissions`` / ``review.states``: roles, actions and the transition table
"""
