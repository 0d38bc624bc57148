"""The Streamlit front end's pages and shared helpers (used by ``app.py``).

One module per page (``signin``, ``assist``, ``articles``, ``editor``,
``review_queue``, ``hittest``, ``insights``, ``history``) and per section
(``editor_state``: unsaved work; ``fieldview``: field-by-field comparison;
``lifecycle``: archive and roll back; ``reminders``; ``charts``) plus shared helpers:
``services`` (settings, database, cached once per process), ``session`` (who is signed
in), ``i18n`` (Chinese and English text), ``errors`` (service messages in the interface
language) and ``render`` (escaped article text, highlighted passages, badges, copy
button). Like ``kb.cli`` and ``kb.api``, this
is a front end: it calls ``review`` and ``ingest`` and holds no business rule.
"""
