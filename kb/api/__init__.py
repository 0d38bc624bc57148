"""The HTTP API for bots (FastAPI): ``create_app(config)``; run it with ``kb serve``."""

from kb.api.app import create_app

__all__ = ["create_app"]
