"""Quality work on the knowledge base: golden questions, evaluation, the unanswered queue."""
