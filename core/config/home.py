"""SEN2COR_HOME: where the user's L2A_GIPP.xml lives, and how --GIP_* arguments are found.

Sen2Cor semantics (reference §1.2): home is $SEN2COR_HOME, or ~/sen2cor/<major.minor>; the user
configuration is <home>/cfg/L2A_GIPP.xml, copied there on the first run and never overwritten
afterwards (a stale copy from an older release is reported, still used). A --GIP_* value is an
existing path (absolute or relative to the working directory) or a bare file name in <home>/cfg.
Every function takes `home` explicitly so that tests and embedding applications control it.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import List, Optional, Union

from ..errors import ConfigError
from ..version import SEN2COR_VERSION
from .gipp import default_gipp_path, read_gipp
from .parameters import GIPP_FILES

log = logging.getLogger(__name__)
PathLike = Union[str, Path]
ENV_VAR = "SEN2COR_HOME"


def sen2cor_home(home: Optional[PathLike] = None) -> Path:
    """The home folder: `home` if given, else $SEN2COR_HOME, else ~/sen2cor/<version>."""
    if home is not None:
        return Path(home).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path.home() / "sen2cor" / SEN2COR_VERSION


def user_config_dir(home: Optional[PathLike] = None) -> Path:
    """<home>/cfg, where the user GIPP and any GIPP given by bare name are looked up."""
    return sen2cor_home(home) / "cfg"


def ensure_user_gipp(home: Optional[PathLike] = None, report: bool = True) -> Path:
    """Path of <home>/cfg/L2A_GIPP.xml, copying the shipped default there on the first run.

    An existing file is never replaced. With `report`, an existing file written for an older
    release is reported as one warning (naming the file and what is missing or older). When the
    folder cannot be written (read-only shared installations), the shipped default is used.
    """
    target = user_config_dir(home) / GIPP_FILES["L2A"].file_name
    if target.exists():
        if report:
            problems = outdated_problems(target)
            if problems:
                log.warning("%s: user configuration is older than Sen2Cor %s (%s); it is still "
                            "used, missing elements take their defaults. Compare it with %s or "
                            "pass another file with --GIP_L2A.", target, SEN2COR_VERSION,
                            "; ".join(problems), default_gipp_path("L2A"))
        return target
    try:
        _copy_no_overwrite(default_gipp_path("L2A"), target)
    except OSError as exc:
        log.warning("%s: cannot create the user configuration (%s); using the shipped default %s",
                    target, exc.strerror or exc, default_gipp_path("L2A"))
        return default_gipp_path("L2A")
    log.info("%s: default user configuration created", target)
    return target


def outdated_problems(path: PathLike) -> List[str]:
    """What makes a user L2A_GIPP.xml older than 2.11: missing elements, older declarations."""
    content = read_gipp(path, "L2A", warn=False)
    problems = list(content.outdated)
    if content.defaulted:
        problems.insert(0, "missing " + ", ".join(content.defaulted))
    return problems


def _copy_no_overwrite(source: Path, target: Path) -> None:
    """Copy so that a file appearing meanwhile (another process) is never replaced or torn."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".L2A_GIPP.", suffix=".tmp", dir=str(target.parent))
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
        try:
            os.link(temp, target)        # atomic, fails if the target exists
        except FileExistsError:
            pass
        except OSError:                  # file systems without hard links
            try:
                with open(target, "xb") as out:   # exclusive create: never replaces
                    out.write(source.read_bytes())
            except FileExistsError:
                pass
    finally:
        if temp and os.path.exists(temp):
            os.unlink(temp)


def resolve_gipp_path(value: PathLike, home: Optional[PathLike] = None,
                      cwd: Optional[PathLike] = None) -> Path:
    """The file a --GIP_* argument names: an existing path first, then a bare name in <home>/cfg.

    A relative path is taken relative to `cwd` (default: the current directory). Found in
    neither place: ConfigError naming the argument and both places tried.
    """
    text = str(value).strip()
    if not text:
        raise ConfigError("empty GIPP file name")
    candidate = Path(text).expanduser()
    if not candidate.is_absolute():
        candidate = Path(cwd or os.getcwd()) / candidate
    if candidate.is_file():
        return candidate
    if candidate.is_dir():
        raise ConfigError("is a folder, expected a GIPP XML file", text)
    bare = Path(text)
    if bare.name == text:  # a bare file name: look in <home>/cfg
        in_home = user_config_dir(home) / text
        if in_home.is_file():
            return in_home
        raise ConfigError(f"GIPP file not found (neither as a path nor in {in_home.parent})", text)
    raise ConfigError("GIPP file not found", text)
