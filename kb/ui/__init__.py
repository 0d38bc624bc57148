"""The Streamlit front end's pages and shared helpers (used by ``app.py``).

One module per page (``signin``, ``assist``, ``editor``, ``review_queue``,
``hittest``, ``insights``, ``history``) plus shared helpers: ``services``
(settings, database, cached once per process), ``session`` (who is signed in),
``i18n`` (Chinese and English text) and ``render`` (escaped article text,
highlighted passages, badges, copy button). Like ``kb.cli`` and ``kb.api``, this
is a front end: it calls ``review`` and ``ingest`` and holds no business rule.
"""
