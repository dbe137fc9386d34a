"""One error family for the whole package.

Every error a user can cause or meet (a bad case file, a missing model, a backend that
fails) is a :class:`SimPatientError` whose message says what happened and how to fix it,
so the command line prints it without a traceback.
"""


class SimPatientError(Exception):
    """Root of every error simpatient raises on purpose."""


class ContentError(SimPatientError):
    """A persona, scenario or rubric file is invalid or cannot be resolved."""


class SettingsError(SimPatientError):
    """A setting has a bad value, or the settings file cannot be read."""


class ModelError(SimPatientError):
    """A model file is missing, corrupt or cannot be fetched."""


class BackendError(SimPatientError):
    """A model backend failed; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
