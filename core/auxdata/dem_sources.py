"""DEM sources: tile naming, coverage of an L1C tile, local look-up and download paths.

Supported (reference §7.3):

| kind                | tile (SW corner, size)  | local file names accepted                              |
|---------------------|-------------------------|--------------------------------------------------------|
| SRTM_90 (CGIAR 4.1) | 5° x 5°, srtm_XX_YY     | srtm_XX_YY.tif, srtm_XX_YY.zip (read in place)         |
| COPERNICUS_30 / _90 | 1° x 1°                 | Copernicus_DSM_10_N46_00_E011_00_DEM.tif, the .tar,    |
|   (classic)         |                         | Copernicus_DSM_10_N46_00_E011_00/DEM/..._DEM.tif       |
| AWS_COPERNICUS_30/90| 1° x 1°                 | Copernicus_DSM_COG_10_N46_00_E011_00_DEM.tif, also in  |
|   (COG)             |                         | a folder of the same name (the AWS bucket layout)      |
| DTED_90 / DTED_30   | 1° x 1°                 | e017_n53.dt1 / .dt2 (PlanetDEM), e017/n53.dt1 (DTED)   |
| USER                | one GeoTIFF/VRT         | the file DEM_Directory points to                       |

SRTM indices: XX = int((lon + 180) / 5) + 1 (1-72), YY = int((60 - lat) / 5) + 1 (1-24); SRTM has
data only between 60°S and 60°N (none south of 56°S in practice; those tiles are missing/ocean).
Copernicus code 10 = GLO-30 (1 arc second), 30 = GLO-90 (3 arc seconds). Names give the SW
corner: N46 E011 covers 46-47°N, 11-12°E; S14 W172 covers 14-13°S, 172-171°W.

Pixel placement is always taken from the geotransform GDAL reports, never from the name: CGIAR
SRTM tiles are 6000 x 6000 with pixel centres on multiples of 3" (origin half a pixel outside the
5° corner); Copernicus tiles have their first pixel centre on the integer degree (GDAL reports the
origin half a pixel up-left, e.g. 10.99986°, 47.00014° for N46 E011; COG files tagged
AREA_OR_POINT=Point get the same geotransform because GDAL applies the PixelIsPoint shift);
DTED tiles are PixelIsPoint with one shared row and column with each neighbour (1201 x 1201
below 50°, fewer columns towards the poles). Sen2Cor 2.8's half-pixel origin shift of SRTM
(SIIMPC-577) is therefore not copied.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from .geo import GeoBounds

SRTM_LAT_LIMIT = 60.0          # CGIAR tiles exist for 60°S..60°N only


class DemKind(str, Enum):
    """A DEM product family; the value is the DEM_TYPE written to L2A_QUALITY.xml."""

    SRTM_90 = "SRTM_90"
    COPERNICUS_30 = "COPERNICUS_30"
    COPERNICUS_90 = "COPERNICUS_90"
    AWS_COPERNICUS_30 = "AWS_COPERNICUS_30"
    AWS_COPERNICUS_90 = "AWS_COPERNICUS_90"
    DTED_90 = "DTED_90"
    DTED_30 = "DTED_30"
    USER = "USER"

    @property
    def tile_degrees(self) -> int:
        return 5 if self is DemKind.SRTM_90 else 1

    @property
    def nominal_arcsec(self) -> float:
        return {DemKind.COPERNICUS_30: 1.0, DemKind.AWS_COPERNICUS_30: 1.0, DemKind.DTED_30: 1.0}.get(self, 3.0)

    @property
    def production_name(self) -> str:
        """PRODUCTION_DEM_TYPE of MTD_MSIL2A.xml (e.g. 'CopernicusDEM90')."""
        return {DemKind.SRTM_90: "SRTM90", DemKind.COPERNICUS_30: "CopernicusDEM30",
                DemKind.COPERNICUS_90: "CopernicusDEM90", DemKind.AWS_COPERNICUS_30: "CopernicusDEM30",
                DemKind.AWS_COPERNICUS_90: "CopernicusDEM90", DemKind.DTED_90: "DTED90",
                DemKind.DTED_30: "DTED30", DemKind.USER: "UserDEM"}[self]

    @property
    def copernicus_code(self) -> Optional[str]:
        return {DemKind.COPERNICUS_30: "10", DemKind.AWS_COPERNICUS_30: "10",
                DemKind.COPERNICUS_90: "30", DemKind.AWS_COPERNICUS_90: "30"}.get(self)

    @property
    def is_copernicus(self) -> bool:
        return self.copernicus_code is not None

    @property
    def dted_level(self) -> Optional[int]:
        return {DemKind.DTED_90: 1, DemKind.DTED_30: 2}.get(self)

    def covers_latitudes(self, south: float, north: float) -> bool:
        if self is DemKind.SRTM_90:
            return south > -SRTM_LAT_LIMIT and north < SRTM_LAT_LIMIT
        return True


TILED_KINDS: Tuple[DemKind, ...] = (
    DemKind.AWS_COPERNICUS_30, DemKind.COPERNICUS_30, DemKind.DTED_30,
    DemKind.AWS_COPERNICUS_90, DemKind.COPERNICUS_90, DemKind.DTED_90, DemKind.SRTM_90,
)   # order of preference between equally complete local sources: finest first


def _ns(lat: int) -> str:
    return f"{'N' if lat >= 0 else 'S'}{abs(lat):02d}"


def _ew(lon: int) -> str:
    return f"{'E' if lon >= 0 else 'W'}{abs(lon):03d}"


def normalise_lon(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0


@dataclass(frozen=True)
class DemTile:
    """One tile of a tiled DEM: kind and south-west corner (integer degrees, lon in [-180, 180)).

    `lon_shift` (0 or 360) is added to the tile's longitudes to place it in the continuous
    longitudes of a footprint that crosses the antimeridian; it is not part of the identity.
    """

    kind: DemKind
    lat: int
    lon: int
    lon_shift: float = field(default=0.0, compare=False)

    @property
    def size(self) -> int:
        return self.kind.tile_degrees

    @property
    def key(self) -> Tuple[str, int, int]:
        """Identity shared by the classic and COG Copernicus forms of one tile and resolution."""
        family = {DemKind.AWS_COPERNICUS_30: DemKind.COPERNICUS_30.value,
                  DemKind.AWS_COPERNICUS_90: DemKind.COPERNICUS_90.value}.get(self.kind, self.kind.value)
        return (family, self.lat, self.lon)

    @property
    def bounds(self) -> Tuple[float, float, float, float]:
        """(west, south, east, north) in degrees, longitudes shifted by `lon_shift`."""
        w = self.lon + self.lon_shift
        return (w, float(self.lat), w + self.size, float(self.lat + self.size))

    @property
    def srtm_indices(self) -> Tuple[int, int]:
        return int((self.lon + 180) / 5) + 1, int((60 - self.lat) / 5)

    @property
    def name(self) -> str:
        """Base name: srtm_38_03, Copernicus_DSM_10_N46_00_E011_00,
        Copernicus_DSM_COG_10_N46_00_E011_00_DEM, e017_n53.dt1."""
        k = self.kind
        if k is DemKind.SRTM_90:
            xx, yy = self.srtm_indices
            return f"srtm_{xx:02d}_{yy:02d}"
        if k in (DemKind.COPERNICUS_30, DemKind.COPERNICUS_90):
            return f"Copernicus_DSM_{k.copernicus_code}_{_ns(self.lat)}_00_{_ew(self.lon)}_00"
        if k in (DemKind.AWS_COPERNICUS_30, DemKind.AWS_COPERNICUS_90):
            return f"Copernicus_DSM_COG_{k.copernicus_code}_{_ns(self.lat)}_00_{_ew(self.lon)}_00_DEM"
        if k.dted_level:
            return f"{_ew(self.lon).lower()}_{_ns(self.lat).lower()}.dt{k.dted_level}"
        raise ValueError(f"{k} has no tiles")

    @property
    def file_name(self) -> str:
        """Name of the tile file stored in the DEM folder after a download."""
        k = self.kind
        if k is DemKind.SRTM_90:
            return self.name + ".tif"
        if k in (DemKind.COPERNICUS_30, DemKind.COPERNICUS_90):
            return self.name + "_DEM.tif"
        if k in (DemKind.AWS_COPERNICUS_30, DemKind.AWS_COPERNICUS_90):
            return self.name + ".tif"
        return self.name

    def local_names(self) -> List[str]:
        """Names (lower case, as in `FolderIndex`) under which the tile may sit in the folder."""
        k = self.kind
        n = self.name.lower()
        if k is DemKind.SRTM_90:
            return [n + ".tif", n + ".zip"]
        if k in (DemKind.COPERNICUS_30, DemKind.COPERNICUS_90):
            cog = f"copernicus_dsm_cog_{k.copernicus_code}_{_ns(self.lat)}_00_{_ew(self.lon)}_00_dem.tif".lower()
            return [n + "_dem.tif", n + ".tar", cog]
        if k in (DemKind.AWS_COPERNICUS_30, DemKind.AWS_COPERNICUS_90):
            classic = f"copernicus_dsm_{k.copernicus_code}_{_ns(self.lat)}_00_{_ew(self.lon)}_00".lower()
            return [n + ".tif", classic + "_dem.tif", classic + ".tar"]
        return [n]

    def remote_paths(self) -> List[str]:
        """Paths relative to DEM_Reference to try, in order (all must be 404 for a missing tile)."""
        k = self.kind
        if k is DemKind.SRTM_90:
            return [self.name + ".zip", self.name + ".tif"]
        if k in (DemKind.COPERNICUS_30, DemKind.COPERNICUS_90):
            return [self.name + ".tar", self.name + "_DEM.tif"]
        if k in (DemKind.AWS_COPERNICUS_30, DemKind.AWS_COPERNICUS_90):
            return [f"{self.name}/{self.name}.tif", self.name + ".tif"]
        lon_dir, lat_file = self.name.split("_", 1)
        return [self.name, f"{lon_dir}/{lat_file}"]


# -- names -> tiles --------------------------------------------------------------------------------
_SRTM_RE = re.compile(r"srtm_(\d{2})_(\d{2})", re.IGNORECASE)
_COP_RE = re.compile(r"Copernicus_DSM_(COG_)?(10|30)_([NS])(\d{2})_00_([EW])(\d{3})_00", re.IGNORECASE)
_DTED_RE = re.compile(r"(?<![a-z0-9])([ew])(\d{3})[_/\\]([ns])(\d{2})\.dt([012])", re.IGNORECASE)


def tile_from_name(name: str) -> Optional[DemTile]:
    """The tile a file name (or a missing-list line) refers to, or None."""
    m = _COP_RE.search(name)
    if m:
        cog, code = bool(m.group(1)), m.group(2)
        lat = int(m.group(4)) * (1 if m.group(3).upper() == "N" else -1)
        lon = int(m.group(6)) * (1 if m.group(5).upper() == "E" else -1)
        kind = {(False, "10"): DemKind.COPERNICUS_30, (False, "30"): DemKind.COPERNICUS_90,
                (True, "10"): DemKind.AWS_COPERNICUS_30, (True, "30"): DemKind.AWS_COPERNICUS_90}[(cog, code)]
        return DemTile(kind, lat, lon)
    m = _SRTM_RE.search(name)
    if m:
        xx, yy = int(m.group(1)), int(m.group(2))
        if 1 <= xx <= 72 and 1 <= yy <= 24:
            return DemTile(DemKind.SRTM_90, 60 - 5 * yy, -180 + 5 * (xx - 1))
        return None
    m = _DTED_RE.search(name)
    if m:
        lon = int(m.group(2)) * (1 if m.group(1).lower() == "e" else -1)
        lat = int(m.group(4)) * (1 if m.group(3).lower() == "n" else -1)
        level = int(m.group(5))
        return DemTile(DemKind.DTED_30 if level == 2 else DemKind.DTED_90, lat, lon)
    return None


# -- coverage -----------------------------------------------------------------------------------------
def tiles_covering(kind: DemKind, bounds: GeoBounds) -> List[DemTile]:
    """Tiles of `kind` whose area intersects the box (longitudes may run past 180).

    Pixel ownership decides at exact boundaries: a tile's first (northernmost) pixel row sits on
    its northern edge and its first column on its western edge (SRTM, Copernicus), so latitude
    L = 45.0 belongs to the tile south of it and longitude 10.0 to the tile east of it - which is
    also what the reference's SRTM formula gives.
    """
    if kind is DemKind.USER:
        raise ValueError("a user DEM has no tiles")
    size = kind.tile_degrees
    limit = SRTM_LAT_LIMIT if kind is DemKind.SRTM_90 else 90.0
    south = max(bounds.south, -limit + 1e-9)
    north = min(bounds.north, limit)
    tiles: List[DemTile] = []
    lat0 = int(math.ceil(south / size)) * size - size
    lat1 = int(math.ceil(north / size)) * size - size
    lon0 = int(math.floor(bounds.west / size)) * size
    lon1 = int(math.floor(bounds.east / size)) * size
    for lat in range(lat0, lat1 + 1, size):
        for lon in range(lon0, lon1 + 1, size):
            named = int(normalise_lon(lon))
            tiles.append(DemTile(kind, lat, named, lon_shift=float(lon - named)))
    return tiles


def coverage_problem(kind: DemKind, bounds: GeoBounds) -> Optional[str]:
    """Why `kind` cannot cover the box (one line), or None."""
    if kind.covers_latitudes(bounds.south, bounds.north):
        return None
    return (f"SRTM 90 m has data only between {SRTM_LAT_LIMIT:.0f}°S and {SRTM_LAT_LIMIT:.0f}°N, the tile "
            f"(with margin) spans {bounds.describe()}")


def kind_from_reference(reference: Optional[str]) -> Optional[DemKind]:
    """DEM kind a DEM_Reference URL serves, when its text tells (None otherwise)."""
    if not reference or reference.strip().upper() == "NONE":
        return None
    r = reference.lower()
    if "copernicus-dem-30m" in r:
        return DemKind.AWS_COPERNICUS_30
    if "copernicus-dem-90m" in r:
        return DemKind.AWS_COPERNICUS_90
    if "srtm" in r:
        return DemKind.SRTM_90
    if "copernicus" in r or "glo-30" in r or "glo-90" in r or "glo30" in r or "glo90" in r:
        if "cog" in r:
            return DemKind.AWS_COPERNICUS_90 if ("90" in r) else DemKind.AWS_COPERNICUS_30
        return DemKind.COPERNICUS_90 if ("90" in r and "30m" not in r and "glo-30" not in r) else DemKind.COPERNICUS_30
    if "dted" in r or "planet" in r:
        return DemKind.DTED_30 if ("dt2" in r or "30" in r) else DemKind.DTED_90
    return None


def kind_from_folder_name(folder: Path) -> Optional[DemKind]:
    """Hint from Sen2Cor's conventional folder names (e.g. 'dem/CopernicusDEM90_AWS', 'dem/srtm')."""
    name = folder.name.lower()
    if "copernicus" in name:
        code90 = "90" in name
        if "aws" in name or "cog" in name:
            return DemKind.AWS_COPERNICUS_90 if code90 else DemKind.AWS_COPERNICUS_30
        return DemKind.COPERNICUS_90 if code90 else DemKind.COPERNICUS_30
    if "srtm" in name:
        return DemKind.SRTM_90
    if "dted" in name or "planet" in name:
        return DemKind.DTED_90
    return None


# -- the DEM folder -------------------------------------------------------------------------------------
MISSING_LIST = "sen2cor_qgis_missing_tiles.list"      # tiles found missing (HTTP 404) by downloads
_SKIP_DIRS = {".locks"}


@dataclass
class FolderIndex:
    """Files of a DEM folder (searched up to 3 levels deep) by lower-case name, and the tiles known
    to be missing (ocean) from `*missing_tiles*.list` files there (Sen2Cor's
    CopernicusDEM_30_TIFF_missing_tiles.list and this project's own list)."""

    root: Path
    files: Dict[str, Path]
    missing: Set[Tuple[str, int, int]]

    @classmethod
    def scan(cls, root: Path, max_depth: int = 3) -> "FolderIndex":
        files: Dict[str, Path] = {}
        missing: Set[Tuple[str, int, int]] = set()
        root = Path(root)
        if root.is_dir():
            base_depth = len(root.parts)
            for dirpath, dirnames, filenames in os.walk(root):
                depth = len(Path(dirpath).parts) - base_depth
                dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
                if depth >= max_depth:
                    dirnames[:] = []
                parent = Path(dirpath).name.lower()
                for name in sorted(filenames):
                    if name.startswith("."):
                        continue                        # temporary downloads, lock files
                    path = Path(dirpath) / name
                    low = name.lower()
                    files.setdefault(low, path)
                    if re.fullmatch(r"[ns]\d{2}\.dt[012]", low) and re.fullmatch(r"[ew]\d{3}", parent):
                        files.setdefault(f"{parent}_{low}", path)          # DTED e017/n53.dt1
                    if "missing" in low and low.endswith(".list") and depth == 0:
                        missing |= read_missing_list(path)
        return cls(root, files, missing)

    def find(self, tile: DemTile) -> Optional[Path]:
        for name in tile.local_names():
            path = self.files.get(name)
            if path is not None:
                return path
        return None

    def is_missing(self, tile: DemTile) -> bool:
        return tile.key in self.missing

    def kinds_present(self) -> Dict[DemKind, int]:
        """How many tile files of each kind the folder holds."""
        counts: Dict[DemKind, int] = {}
        for name in self.files:
            if name.endswith((".list", ".lock", ".xml", ".txt", ".md")):
                continue
            tile = tile_from_name(name)
            if tile is not None:
                counts[tile.kind] = counts.get(tile.kind, 0) + 1
        return counts


def read_missing_list(path: Path) -> Set[Tuple[str, int, int]]:
    """Tile keys named in a missing-tiles list (one name per line; other text is ignored)."""
    keys: Set[Tuple[str, int, int]] = set()
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return keys
    for line in text.splitlines():
        tile = tile_from_name(line.strip())
        if tile is not None:
            keys.add(tile.key)
    return keys


@dataclass(frozen=True)
class SourceChoice:
    """The DEM kind chosen for a tile and the tiles it needs."""

    kind: DemKind
    tiles: Tuple[DemTile, ...]
    reason: str


def choose_source(bounds: GeoBounds, index: FolderIndex, reference: Optional[str],
                  preferred: Optional[DemKind] = None) -> SourceChoice:
    """Pick the DEM kind for a footprint.

    Order: an explicit `preferred` kind; the kind DEM_Reference serves; a kind whose tiles in the
    folder cover the footprint completely (finest first); the folder name's hint (e.g. Sen2Cor's
    'dem/CopernicusDEM90_AWS'); kinds with partial coverage (most tiles first). A kind
    that cannot cover the footprint (SRTM beyond 60°) is replaced by another kind with tiles in the
    folder; ValueError (one line, saying what to do) when none is left.
    """
    candidates: List[Tuple[DemKind, str]] = []
    if preferred is not None:
        candidates.append((preferred, "requested"))
    ref_kind = kind_from_reference(reference)
    if ref_kind is not None:
        candidates.append((ref_kind, "DEM_Reference"))
    scored = []
    for kind in index.kinds_present():
        if kind is DemKind.USER:
            continue
        tiles = tiles_covering(kind, bounds) if kind.covers_latitudes(bounds.south, bounds.north) else []
        found = sum(1 for t in tiles if index.find(t) is not None or index.is_missing(t))
        complete = bool(tiles) and found == len(tiles)
        scored.append((not complete, -found, TILED_KINDS.index(kind), kind))
    scored.sort()
    candidates.extend((kind, "tiles in the folder") for incomplete, _, _, kind in scored if not incomplete)
    hint = kind_from_folder_name(index.root)
    if hint is not None:
        candidates.append((hint, "folder name"))
    candidates.extend((kind, "tiles in the folder") for incomplete, _, _, kind in scored if incomplete)
    problems = []
    seen = set()
    for kind, why in candidates:
        if kind in seen:
            continue
        seen.add(kind)
        problem = coverage_problem(kind, bounds)
        if problem:
            problems.append(problem)
            continue
        if problems and why in ("tiles in the folder", "folder name"):
            why = f"{why}, instead of {candidates[0][0].value} ({problems[0]})"
        return SourceChoice(kind, tuple(tiles_covering(kind, bounds)), why)
    if problems:
        raise ValueError(f"{problems[0]}; put Copernicus DEM or DTED tiles into the DEM folder or set "
                         f"DEM_Reference to a Copernicus DEM server")
    raise ValueError("no DEM tiles found in the DEM folder and DEM_Reference gives no known DEM type "
                     "(expected srtm_XX_YY.tif/.zip, Copernicus_DSM_[COG_]10|30_..._DEM.tif/.tar or "
                     "eXXX_nYY.dt1/.dt2 files)")


def describe_tiles(tiles: Iterable[DemTile], limit: int = 6) -> str:
    names = [t.file_name for t in tiles]
    text = ", ".join(names[:limit])
    return text + (f" and {len(names) - limit} more" if len(names) > limit else "")


def is_user_dem(path: Path) -> bool:
    """True when DEM_Directory names one raster file (GeoTIFF, VRT, ...) instead of a folder."""
    return Path(path).is_file()


__all__: Sequence[str] = (
    "DemKind", "DemTile", "FolderIndex", "SourceChoice", "tile_from_name", "tiles_covering",
    "coverage_problem", "kind_from_reference", "choose_source", "read_missing_list", "MISSING_LIST",
)
