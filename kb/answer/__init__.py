"""Answering a question from retrieved passages: confidence, composition, citations."""
