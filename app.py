"""The kb Streamlit front end: ``streamlit run app.py``.

Signs the user in, then offers the pages their roles allow (``kb.ui.navigation``):
agent assist, the change feed and practice for everyone (the feed first while a
must-read change is unread); the editor for authors; the review queue for reviewers
and publishers; hit test, insights and history for every editing role. Settings,
database, model and index load once per process (``st.cache_resource``); the
knowledge base is the one ``KB_HOME`` (or ``KB_CONFIG``) names, as for the CLI.
"""

from kb.ui.navigation import main

main()
