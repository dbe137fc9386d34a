"""Model files: the catalogue of known models and the explicit fetch/verify step."""

from simpatient.models.catalogue import CATALOGUE, Kind, ModelSpec
from simpatient.models.store import FileCheck, fetch, locate, spec_for, verify

__all__ = ["CATALOGUE", "FileCheck", "Kind", "ModelSpec", "fetch", "locate", "spec_for", "verify"]
