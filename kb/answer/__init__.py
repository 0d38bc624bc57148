"""Answering: from retrieved passages to a suggested reply with citations (or a hand-off), with its
confidence, the optional LLM rewrite, message understanding and conversations."""
