"""Backends chosen by name: each stage keeps a table of names to ``module:Class`` and
imports a backend only when it is asked for, so a missing optional package fails with an
install hint at that moment, never at import time."""

import importlib
from collections.abc import Mapping
from typing import Any

from simpatient.errors import BackendError


def backend_class(kind: str, name: str, table: Mapping[str, str]) -> Any:
    """The class registered as ``name`` in ``table`` (a ``kind`` of backend, for
    messages), imported now. Callers annotate it with their stage's base class."""
    try:
        target = table[name]
    except KeyError:
        known = ", ".join(sorted(table))
        raise BackendError(f"unknown {kind} '{name}' (known: {known})") from None
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise BackendError(
            f"the '{name}' {kind} needs a package that is not installed ({e.name}); "
            "run make setup, or pip install the matching simpatient extra"
        ) from e
    return getattr(module, class_name)
