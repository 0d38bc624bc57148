"""kb: a customer-service knowledge base that suggests answers with citations.

Importing kb sets the process defaults every part relies on before any model or
Haystack code is imported: no model-hub access and no telemetry, unless the
operator has set these variables already.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Idle OpenMP threads of the embedding engine sleep instead of spinning (latency under load).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

# Haystack imports torch at once when it is installed; only the sentence-transformers
# backend uses it: import it at its first use instead (kb.deferred_imports).
from kb.deferred_imports import defer_torch

defer_torch()
