"""Error types of the engine.

Every error that reaches a user names the file it concerns and the problem in one line, so that
the command line, the QGIS dialog and the batch runner can all report it the same way.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union


class Sen2CorError(Exception):
    """Base class of all errors the engine raises on purpose (never a bug)."""

    def __init__(self, message: str, path: Optional[Union[str, Path]] = None) -> None:
        self.path = str(path) if path is not None else None
        self.problem = message
        text = f"{self.path}: {message}" if self.path else message
        super().__init__(" ".join(text.split()))  # one line, whatever the message holds


class ProductError(Sen2CorError):
    """The input product is missing, malformed, of the wrong level or unsupported."""


class UnsupportedProductError(ProductError):
    """A well-formed product this processor does not handle (old standard SAFE, wrong level)."""


class ConfigError(Sen2CorError):
    """A GIPP file or an override value is invalid."""


class NotImplementedYetError(Sen2CorError):
    """A Sen2Cor option whose processing is not part of this build yet: fail, never ignore."""


class CancelledError(Sen2CorError):
    """Processing was cancelled by the caller; nothing is left behind."""


class AuxiliaryDataError(Sen2CorError):
    """An auxiliary input (DEM, ESA CCI map, CAMS file, snow map) is missing, unreadable or wrong."""


class DemError(AuxiliaryDataError):
    """The DEM for a tile cannot be prepared (no coverage, download failed, corrupt tile)."""
