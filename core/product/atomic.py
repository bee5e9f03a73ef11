"""Atomic appearance of an output product folder.

A product is written under a hidden temporary name in the output folder and renamed to its final
name only when complete: a crash, an error or Ctrl-C never leaves a half-written product that
looks finished, and what already exists under the final name is never touched.
"""
from __future__ import annotations

import logging
import os
import secrets
import shutil
from pathlib import Path
from types import TracebackType
from typing import Optional, Type, Union

from ..errors import ProductError

log = logging.getLogger(__name__)
PARTIAL_MARK = ".partial-"


def partial_name(final_name: str) -> str:
    """Hidden temporary name for a product being written: '.<name>.partial-<random>'."""
    return f".{final_name}{PARTIAL_MARK}{secrets.token_hex(4)}"


def prepare_output_dir(output_dir: Union[str, Path]) -> Path:
    """Create the output folder if missing and check it is a writable folder (ProductError if not)."""
    out = Path(output_dir).expanduser().absolute()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ProductError("output path exists and is not a folder", out) from None
    except PermissionError:
        raise ProductError("cannot create the output folder (permission denied)", out) from None
    except OSError as exc:
        raise ProductError(f"cannot create the output folder ({exc.strerror})", out) from None
    if not out.is_dir():
        raise ProductError("output path exists and is not a folder", out)
    if not os.access(out, os.W_OK | os.X_OK):
        raise ProductError("output folder is not writable", out)
    return out


class AtomicProductDir:
    """Context manager: yields a temporary folder that becomes `<output_dir>/<final_name>` on success.

    Refuses (ProductError, nothing created) when the final product already exists. On any
    exception, KeyboardInterrupt included, the temporary folder is removed and the exception
    propagates. The final rename is `os.replace` inside one folder, hence atomic.
    """

    def __init__(self, output_dir: Union[str, Path], final_name: str) -> None:
        if not final_name or "/" in final_name or final_name in (".", ".."):
            raise ProductError(f"invalid product name '{final_name}'")
        self.output_dir = Path(output_dir)
        self.final_name = final_name
        self.final_path: Optional[Path] = None
        self.partial_path: Optional[Path] = None

    def __enter__(self) -> Path:
        out = prepare_output_dir(self.output_dir)
        final = out / self.final_name
        self._refuse_existing(final)
        partial = out / partial_name(self.final_name)
        try:
            partial.mkdir()
        except PermissionError:
            raise ProductError("output folder is not writable", out) from None
        except OSError as exc:
            raise ProductError(f"cannot create a folder in the output folder ({exc.strerror})", out) from None
        self.final_path, self.partial_path = final, partial
        return partial

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> bool:
        assert self.partial_path is not None and self.final_path is not None
        if exc_type is not None:
            self._discard()
            return False
        try:
            self._refuse_existing(self.final_path)   # appeared while we were writing
            os.replace(self.partial_path, self.final_path)
        except BaseException:
            self._discard()
            raise
        log.debug("product complete: %s", self.final_path)
        return False

    @staticmethod
    def _refuse_existing(final: Path) -> None:
        if os.path.lexists(final):
            raise ProductError("the Level-2A product already exists; remove it or choose another "
                               "output folder (an existing product is never overwritten)", final)

    def _discard(self) -> None:
        if self.partial_path is not None and os.path.lexists(self.partial_path):
            shutil.rmtree(self.partial_path, ignore_errors=True)
            log.debug("removed partial product %s", self.partial_path)


def atomic_product_dir(output_dir: Union[str, Path], final_name: str) -> AtomicProductDir:
    """`with atomic_product_dir(out, name) as tmp:` write into `tmp`; see AtomicProductDir."""
    return AtomicProductDir(output_dir, final_name)
