"""Sentence encoders for the appraisal: text in, unit-length vectors out.

``minilm`` (all-MiniLM-L6-v2 through sentence-transformers) is the default; ``lexical``
(hashed bag of words) needs nothing, so unit tests run without torch, and it is the
baseline the dialogue benchmark compares against.
"""

import hashlib
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from simpatient.errors import ModelError


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """One L2-normalised row per text."""
        ...


class LexicalEncoder:
    """Hashed bag of lower-cased words (and word pairs): similarity is word overlap."""

    DIMENSIONS = 4096
    _WORD = re.compile(r"[a-z']+")
    _STOP = frozenset(
        (
            "a",
            "an",
            "the",
            "and",
            "or",
            "but",
            "to",
            "of",
            "in",
            "on",
            "at",
            "for",
            "is",
            "are",
            "was",
            "were",
            "be",
            "been",
            "i",
            "you",
            "your",
            "my",
            "me",
            "we",
            "it",
            "that",
            "this",
            "do",
            "did",
            "does",
            "have",
            "has",
            "had",
            "with",
            "about",
            "what",
            "how",
            "so",
            "can",
            "could",
            "would",
        )
    )

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        rows = np.zeros((len(texts), self.DIMENSIONS), dtype=np.float32)
        for i, text in enumerate(texts):
            words = [w for w in self._WORD.findall(text.lower()) if w not in self._STOP]
            for term in words + [f"{a} {b}" for a, b in itertools.pairwise(words)]:
                digest = hashlib.blake2b(term.encode(), digest_size=4).digest()
                rows[i, int.from_bytes(digest, "little") % self.DIMENSIONS] += 1.0
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return (rows / np.where(norms == 0, 1.0, norms)).astype(np.float32)


class MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence embeddings on the CPU (about 5-10 ms a sentence here)."""

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = model_dir
        self._model: Any = None

    def load(self) -> None:
        try:
            import torch
            import transformers
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise ModelError(
                "the minilm encoder needs sentence-transformers; run make setup "
                "(or set SIMPATIENT_APPRAISAL_ENCODER=lexical)"
            ) from e
        transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        # One thread: a turn is one short sentence, and the LLM needs the other cores.
        torch.set_num_threads(1)
        self._model = SentenceTransformer(str(self.model_dir), device="cpu", local_files_only=True)
        self.encode(["warm up"])  # the first call pays one-off setup costs

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        vectors = self._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class Embedded:
    """Texts embedded both ways: by the sentence encoder and by word overlap."""

    semantic: npt.NDArray[np.float32]
    lexical: npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Similarity:
    semantic: float
    lexical: float


class PhraseMatcher:
    """Compares what someone said with sets of example phrasings by meaning (the sentence
    encoder) and by word overlap; each set is embedded once."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self._lexical = LexicalEncoder()

    def embed(self, texts: list[str]) -> Embedded:
        return Embedded(self.encoder.encode(texts), self._lexical.encode(texts))

    def best(self, examples: Embedded, said: Embedded, row: int = 0) -> Similarity:
        """The closest example to ``said``'s ``row``-th text, by each measure."""
        if len(examples.semantic) == 0:
            return Similarity(0.0, 0.0)
        return Similarity(
            float(np.max(examples.semantic @ said.semantic[row])),
            float(np.max(examples.lexical @ said.lexical[row])),
        )
