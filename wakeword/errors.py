"""Errors the user can act on. The CLI prints `str(error)` as one line and exits non-zero; no traceback."""


class WakewordError(Exception):
    """Base class: the message alone must tell the user what is wrong and what to do."""


class AudioError(WakewordError):
    """Unreadable or unsupported audio input."""


class ModelError(WakewordError):
    """Missing, corrupted or inconsistent model / model card, or an unusable interpreter."""


class ConfigError(WakewordError):
    """Invalid configuration value."""
