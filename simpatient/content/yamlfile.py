"""Safe YAML loading that remembers where every value was written.

pydantic's errors carry field paths but no line numbers, so documents are loaded with
ruamel.yaml's round-trip composer (which keeps node marks but builds no Python objects
from tags) and each field path is mapped back to its line and column.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from simpatient.errors import ContentError

#: Larger than any sensible case file; refuses accidental uploads of data or binaries.
MAX_BYTES = 256 * 1024
#: Anchors and aliases can make a small file expand without bound ("billion laughs");
#: no real case comes near this many values once aliases are expanded.
MAX_VALUES = 100_000
_MISSING = object()


class YamlFileError(ContentError):
    """A file that cannot be read as YAML at all; carries the position of the fault."""

    def __init__(self, path: Path, line: int, column: int, message: str) -> None:
        super().__init__(f"{path}:{line}:{column}: {message}")
        self.path, self.line, self.column, self.reason = path, line, column, message


@dataclass(frozen=True)
class YamlDocument:
    path: Path
    root: Any  # CommentedMap / CommentedSeq / scalar, with marks

    def data(self) -> Any:
        """The document as plain dicts, lists and scalars (what pydantic validates)."""
        return _plain(self.root)

    def position(self, loc: tuple[str | int, ...], *, key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the node at ``loc``, or of its nearest ancestor.

        With ``key=True`` the position is the mapping key's rather than its value's.
        """
        node: Any = self.root
        line, col = _start(node)
        for i, part in enumerate(loc):
            last = i == len(loc) - 1
            if isinstance(node, CommentedMap):
                # data() turned every key into a string; find the key as written.
                written = next((k for k in node if str(k) == part), _MISSING)
                if written is _MISSING:
                    break
                # Keys that arrived through a merge (<<: *anchor) have no position of
                # their own: report the mapping that merged them.
                if written in node.lc.data:
                    pos = node.lc.key(written) if (key and last) else node.lc.value(written)
                    line, col = pos[0] + 1, pos[1] + 1
                node = node[written]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                pos = node.lc.item(part)
                line, col = pos[0] + 1, pos[1] + 1
                node = node[part]
            else:
                break
        return line, col


def load_yaml(path: Path, text: str | None = None) -> YamlDocument:
    """Read ``path`` (or the given ``text`` under that name) as one YAML document."""
    if text is None:
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise YamlFileError(path, 0, 0, f"cannot read file: {e.strerror}") from e
        text = _decode(path, raw)
    elif len(text.encode()) > MAX_BYTES:
        raise YamlFileError(path, 0, 0, _too_big(len(text.encode())))
    yaml = YAML(typ="rt", pure=True)
    try:
        root = yaml.load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        if e.context_mark is not None and mark is not None and mark.line >= text.count("\n"):
            mark = e.context_mark  # e.g. an unclosed quote: point at where it opened
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        reason = "; ".join(filter(None, [e.context, e.problem])) or "invalid YAML"
        raise YamlFileError(path, line, col, f"invalid YAML: {reason}") from e
    except YAMLError as e:
        raise YamlFileError(path, 0, 0, f"invalid YAML: {e}") from e
    if not isinstance(root, CommentedMap):
        raise YamlFileError(path, 1, 1, "expected a mapping of fields at the top of the file")
    if _expanded_size(root, {}) > MAX_VALUES:
        raise YamlFileError(
            path, 1, 1, f"aliases expand this file to more than {MAX_VALUES} values"
        )
    return YamlDocument(path, root)


def _decode(path: Path, raw: bytes) -> str:
    if len(raw) > MAX_BYTES:
        raise YamlFileError(path, 0, 0, _too_big(len(raw)))
    if b"\x00" in raw:
        raise YamlFileError(path, 0, 0, "this is a binary file, not YAML text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise YamlFileError(path, line, column, "not UTF-8 text; save the file as UTF-8") from e


def _too_big(size: int) -> str:
    return f"file is {size // 1024} KiB; case files are limited to {MAX_BYTES // 1024} KiB"


def _expanded_size(node: Any, memo: dict[int, int]) -> int:
    """How many values ``node`` holds once aliases are expanded, counting each shared
    node once per use but computing it only once."""
    if id(node) in memo:
        return memo[id(node)]
    size = 1
    if isinstance(node, CommentedMap):
        size += sum(_expanded_size(v, memo) for v in node.values())
    elif isinstance(node, CommentedSeq):
        size += sum(_expanded_size(v, memo) for v in node)
    memo[id(node)] = size
    return size


def _start(node: Any) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    return (lc.line + 1, lc.col + 1) if lc is not None else (1, 1)


def _plain(node: Any) -> Any:
    if isinstance(node, CommentedMap):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)  # drop ruamel's scalar string subclasses
    return node
