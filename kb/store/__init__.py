"""The article store: database, tables, migrations, articles and their versions, API keys, the
query log, feedback, and the outbox through which publication reaches the search index.

Nothing here checks permissions (that is ``review``) or knows how search works (``kb.search``)."""
