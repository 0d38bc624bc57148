"""torch is imported at its first use, not by importing kb and Haystack (issue 16).

Each check runs in a fresh interpreter: the import state of the test process is shared.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(code: str) -> str:
    """Run ``code`` in a new interpreter at the repository root; its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_kb_search_path_does_not_import_torch() -> None:
    out = run(
        "import sys, kb.search.retrieval, kb.answer.suggest, kb.api.app\n"
        "print('torch._C' in sys.modules, type(sys.modules['torch']).__name__)"
    )
    assert out == "False DeferredModule"


def test_first_use_imports_the_real_torch_and_its_submodules() -> None:
    """Haystack (imported first) and sentence-transformers hold the stand-in; the real
    model still embeds, and torch submodules import once (a second import would abort)."""
    out = run(
        "import sys, kb, haystack, kb.search.retrieval\n"
        "from kb.embedders import EmbedderSpec, create_backend\n"
        "spec = EmbedderSpec(backend='sentence-transformers', model='', threads=1)\n"
        "v = create_backend(spec).embed_passages(['refund policy'])\n"
        "import torch, torch.nn, torch.distributed\n"
        "from haystack.utils import device\n"
        "from haystack.utils.device import ComponentDevice\n"
        "print(v.shape, round(float((v ** 2).sum()), 4), 'torch._C' in sys.modules,\n"
        "      torch.tensor([2, 3]).sum().item(), device.torch._kb_real is torch,\n"
        "      ComponentDevice.from_str('cpu').to_torch())"
    )
    assert out == "(1, 384) 1.0 True 5 True cpu"


def test_torch_already_imported_is_left_alone() -> None:
    out = run(
        "import torch, sys\n"
        "from kb.deferred_imports import defer_torch\n"
        "print(defer_torch(), sys.modules['torch'] is torch, type(torch).__name__)"
    )
    assert out == "False True module"
