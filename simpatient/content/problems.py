"""Problems found in case files, each pinned to a file, line, column and field."""

import difflib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from simpatient.content.yamlfile import YamlDocument


class Severity(StrEnum):
    error = "error"
    warning = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    path: Path
    line: int  # 1-based; 0 when the problem concerns the whole file
    column: int  # 1-based
    field: str  # dotted field path, "" for the whole document
    message: str
    severity: Severity = Severity.error

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}"
        tag = "" if self.severity is Severity.error else "warning: "
        return f"{where}: {self.field or '(document)'}: {tag}{self.message}"


def dotted(loc: tuple[str | int, ...]) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else p for p in loc).replace(".[", "[")


def problems_from_validation(
    doc: YamlDocument,
    error: ValidationError,
    model: type[BaseModel],
    prefix: tuple[str | int, ...] = (),
) -> list[Problem]:
    """Turn every pydantic error into a Problem located in the YAML document.

    ``prefix`` places the validated data inside the document (e.g. a scenario's
    ``persona_overrides``), so positions and field paths name what the author wrote.
    """
    problems = []
    for err in error.errors():
        loc = prefix + tuple(err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            known = _fields_at(model, tuple(err["loc"])[:-1])
            key = str(loc[-1])
            hint = difflib.get_close_matches(key, known, n=1)
            message = f"unknown key '{key}'" + (f"; did you mean '{hint[0]}'?" if hint else "")
            line, col = doc.position(loc, key=True)
        elif kind == "missing":
            message = "required field is missing"
            line, col = doc.position(loc)
        else:
            message = _clean_message(err["msg"])
            line, col = doc.position(loc)
        problems.append(Problem(doc.path, line, col, dotted(loc), message))
    return problems


def _clean_message(msg: str) -> str:
    return msg.removeprefix("Value error, ")


def _fields_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The field names of the model reached by ``loc`` (for 'did you mean')."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if _is_model(current) else None
        if field is None:
            return []
        current = _inner_model(field.annotation)
    return list(current.model_fields) if _is_model(current) else []


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseModel)


def _inner_model(annotation: Any) -> Any:
    """Find the model class inside ``X``, ``list[X]`` or ``X | None``."""
    if _is_model(annotation):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
