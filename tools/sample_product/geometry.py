"""Tile grid, acquisition time, sun and viewing geometry of the synthetic product.

Pure numpy (no GDAL): the 6S table builder runs in its own virtual environment and needs the same
geometry as the generator.

* MGRS tile -> UTM zone and Sentinel-2 tile corner. The corner rule (checked on real tiles
  23LLF, 29SQB, 34VCL, 34UCF, 22HBD, 1CDK): ULX = floor(W / 60) * 60 and
  ULY = ceil((N - FN) / 60) * 60 + FN, where W and N are the west and north edges of the MGRS
  100 km square and FN the false northing (0 north, 10 000 km south).
* UTM <-> geographic with Krueger's series (4th order in n; well below 1 mm inside a zone).
* Sun position: NOAA / Meeus low-precision algorithm (about 0.01 deg), no refraction (the L1C
  angles are geometric); Sun-Earth distance from the same algorithm.
* Acquisition time: 10:30 mean local time at the descending node, shifted with latitude along the
  sun-synchronous ground track (inclination 98.62 deg).
* Viewing angles: a pushbroom model at 786 km altitude: across-track view zenith from the
  distance to the nadir track, a small along-track look angle per band (focal-plane position) and
  per detector parity (odd/even detectors are staggered), which is what makes the real per-detector
  azimuths jump; 12 detectors of about 24 km across track. For the tiny and small products the
  detector stripes are narrowed so that several of them fall inside the product.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional, Tuple

import numpy as np

from .spectra import BANDS

# ----------------------------------------------------------------------------------------- UTM
_A = 6378137.0
_F = 1 / 298.257223563
_K0 = 0.9996
_N = _F / (2 - _F)
_AA = _A / (1 + _N) * (1 + _N ** 2 / 4 + _N ** 4 / 64)
_ALPHA = (
    _N / 2 - 2 * _N ** 2 / 3 + 5 * _N ** 3 / 16 + 41 * _N ** 4 / 180,
    13 * _N ** 2 / 48 - 3 * _N ** 3 / 5 + 557 * _N ** 4 / 1440,
    61 * _N ** 3 / 240 - 103 * _N ** 4 / 140,
    49561 * _N ** 4 / 161280,
)
_BETA = (
    _N / 2 - 2 * _N ** 2 / 3 + 37 * _N ** 3 / 96 - _N ** 4 / 360,
    _N ** 2 / 48 + _N ** 3 / 15 - 437 * _N ** 4 / 1440,
    17 * _N ** 3 / 480 - 37 * _N ** 4 / 840,
    4397 * _N ** 4 / 161280,
)
_DELTA = (
    2 * _N - 2 * _N ** 2 / 3 - 2 * _N ** 3 + 116 * _N ** 4 / 45,
    7 * _N ** 2 / 3 - 8 * _N ** 3 / 5 - 227 * _N ** 4 / 45,
    56 * _N ** 3 / 15 - 136 * _N ** 4 / 35,
    4279 * _N ** 4 / 630,
)


def utm_forward(lat, lon, zone: int, north: bool):
    """Geographic (deg) -> UTM easting, northing (m)."""
    lat = np.radians(np.asarray(lat, dtype=np.float64))
    dlon = np.radians(np.asarray(lon, dtype=np.float64) - (6 * zone - 183))
    c = 2 * math.sqrt(_N) / (1 + _N)
    t = np.sinh(np.arctanh(np.sin(lat)) - c * np.arctanh(c * np.sin(lat)))
    xi_p = np.arctan2(t, np.cos(dlon))
    eta_p = np.arctanh(np.sin(dlon) / np.sqrt(1 + t * t))
    xi, eta = xi_p.copy(), eta_p.copy()
    for j, a in enumerate(_ALPHA, start=1):
        xi = xi + a * np.sin(2 * j * xi_p) * np.cosh(2 * j * eta_p)
        eta = eta + a * np.cos(2 * j * xi_p) * np.sinh(2 * j * eta_p)
    easting = 500000.0 + _K0 * _AA * eta
    northing = (0.0 if north else 10000000.0) + _K0 * _AA * xi
    return easting, northing


def utm_inverse(easting, northing, zone: int, north: bool):
    """UTM easting, northing (m) -> geographic latitude, longitude (deg)."""
    xi = (np.asarray(northing, dtype=np.float64) - (0.0 if north else 10000000.0)) / (_K0 * _AA)
    eta = (np.asarray(easting, dtype=np.float64) - 500000.0) / (_K0 * _AA)
    xi_p, eta_p = xi.copy(), eta.copy()
    for j, b in enumerate(_BETA, start=1):
        xi_p = xi_p - b * np.sin(2 * j * xi) * np.cosh(2 * j * eta)
        eta_p = eta_p - b * np.cos(2 * j * xi) * np.sinh(2 * j * eta)
    chi = np.arcsin(np.sin(xi_p) / np.cosh(eta_p))
    lat = chi.copy()
    for j, d in enumerate(_DELTA, start=1):
        lat = lat + d * np.sin(2 * j * chi)
    lon = (6 * zone - 183) + np.degrees(np.arctan2(np.sinh(eta_p), np.cos(xi_p)))
    return np.degrees(lat), lon


# ----------------------------------------------------------------------------------------- MGRS
_COL_SETS = ("ABCDEFGH", "JKLMNPQR", "STUVWXYZ")
_ROW_LETTERS = "ABCDEFGHJKLMNPQRSTUV"
_BAND_LETTERS = "CDEFGHJKLMNPQRSTUVWX"
TILE_SIZE_M = 109800


@dataclass(frozen=True)
class TileFrame:
    """One Sentinel-2 MGRS tile: its UTM zone and upper-left corner."""

    tile: str            # '34UDD'
    zone: int
    north: bool
    ulx: float
    uly: float

    @property
    def epsg(self) -> int:
        return (32600 if self.north else 32700) + self.zone

    @property
    def cs_name(self) -> str:
        return f"WGS84 / UTM zone {self.zone}{'N' if self.north else 'S'}"

    def lonlat(self, x, y):
        lat, lon = utm_inverse(x, y, self.zone, self.north)
        return lon, lat

    @property
    def centre_lonlat(self) -> Tuple[float, float]:
        lon, lat = self.lonlat(self.ulx + TILE_SIZE_M / 2, self.uly - TILE_SIZE_M / 2)
        return float(lon), float(lat)


def tile_frame(tile: str) -> TileFrame:
    """UTM zone and upper-left corner of an MGRS tile name such as '34UDD' or 'T34UDD'."""
    tile = tile.upper()
    if tile.startswith("T") and len(tile) == 6:
        tile = tile[1:]
    if len(tile) != 5 or not tile[:2].isdigit():
        raise ValueError(f"not an MGRS tile name: {tile!r}")
    zone = int(tile[:2])
    band, col, row = tile[2], tile[3], tile[4]
    if not 1 <= zone <= 60 or band not in _BAND_LETTERS:
        raise ValueError(f"not an MGRS tile name: {tile!r}")
    col_set = _COL_SETS[(zone - 1) % 3]
    if col not in col_set or row not in _ROW_LETTERS:
        raise ValueError(f"not an MGRS tile name: {tile!r}")
    west = (col_set.index(col) + 1) * 100000.0
    north = band >= "N"
    row_index = (_ROW_LETTERS.index(row) - (5 if zone % 2 == 0 else 0)) % 20
    south_lat = -80.0 + 8.0 * _BAND_LETTERS.index(band)
    _, band_min_n = utm_forward(south_lat, 6 * zone - 183, zone, north)
    n = row_index * 100000.0
    while n < float(band_min_n) - 100000.0:
        n += 2000000.0
    fn = 0.0 if north else 10000000.0
    ulx = math.floor(west / 60.0) * 60.0
    uly = math.ceil((n + 100000.0 - fn) / 60.0) * 60.0 + fn
    return TileFrame(tile, zone, north, ulx, uly)


# ------------------------------------------------------------------------------------------ Sun
def _julian_century(when: datetime) -> float:
    jd = when.replace(tzinfo=timezone.utc).timestamp() / 86400.0 + 2440587.5
    return (jd - 2451545.0) / 36525.0


def solar_position(when: datetime, lat, lon):
    """Solar zenith and azimuth (deg, azimuth clockwise from north) at UTC time `when`."""
    t = _julian_century(when)
    l0 = math.radians((280.46646 + t * (36000.76983 + t * 0.0003032)) % 360.0)
    m = math.radians(357.52911 + t * (35999.05029 - 0.0001537 * t))
    e = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    c = math.radians(
        math.sin(m) * (1.914602 - t * (0.004817 + 0.000014 * t))
        + math.sin(2 * m) * (0.019993 - 0.000101 * t) + math.sin(3 * m) * 0.000289
    )
    omega = math.radians(125.04 - 1934.136 * t)
    app_long = l0 + c - math.radians(0.00569 + 0.00478 * math.sin(omega))
    eps0 = 23.0 + (26.0 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60.0) / 60.0
    eps = math.radians(eps0 + 0.00256 * math.cos(omega))
    decl = math.asin(math.sin(eps) * math.sin(app_long))
    y = math.tan(eps / 2) ** 2
    eot = 4 * math.degrees(
        y * math.sin(2 * l0) - 2 * e * math.sin(m) + 4 * e * y * math.sin(m) * math.cos(2 * l0)
        - 0.5 * y * y * math.sin(4 * l0) - 1.25 * e * e * math.sin(2 * m)
    )
    minutes = when.hour * 60 + when.minute + (when.second + when.microsecond * 1e-6) / 60.0
    lat_r = np.radians(np.asarray(lat, dtype=np.float64))
    tst = minutes + eot + 4.0 * np.asarray(lon, dtype=np.float64)
    hour_angle = np.radians(tst / 4.0 - 180.0)
    cos_z = np.sin(lat_r) * math.sin(decl) + np.cos(lat_r) * math.cos(decl) * np.cos(hour_angle)
    zenith = np.degrees(np.arccos(np.clip(cos_z, -1.0, 1.0)))
    azimuth = (np.degrees(np.arctan2(
        np.sin(hour_angle),
        np.cos(hour_angle) * np.sin(lat_r) - math.tan(decl) * np.cos(lat_r),
    )) + 180.0) % 360.0
    return zenith, azimuth


def sun_earth_distance(when: datetime) -> float:
    """Sun-Earth distance in astronomical units (same algorithm as `solar_position`)."""
    t = _julian_century(when)
    m = math.radians(357.52911 + t * (35999.05029 - 0.0001537 * t))
    e = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    c = math.radians(
        math.sin(m) * (1.914602 - t * (0.004817 + 0.000014 * t))
        + math.sin(2 * m) * (0.019993 - 0.000101 * t) + math.sin(3 * m) * 0.000289
    )
    return 1.000001018 * (1 - e * e) / (1 + e * math.cos(m + c))


# ---------------------------------------------------------------------------------- Acquisition
INCLINATION_DEG = 98.62
ALTITUDE_KM = 786.0
EARTH_RADIUS_KM = 6371.0
ORBIT_PERIOD_S = 86400.0 * 10 / 143           # 143 orbits in the 10-day cycle


def overpass_time(day: datetime, lat: float, lon: float) -> datetime:
    """UTC time of the descending pass over (lat, lon) on `day` (10:30 LTDN)."""
    tan_i = math.tan(math.radians(180.0 - INCLINATION_DEG))
    shift_deg = math.degrees(math.asin(max(-1.0, min(1.0, math.tan(math.radians(lat)) / tan_i))))
    hours = 10.5 + shift_deg / 15.0 - lon / 15.0
    start = datetime(day.year, day.month, day.day)
    return start + timedelta(seconds=round(hours * 3600.0, 6))


def ground_track_heading(lat: float) -> float:
    """Azimuth (deg) of the descending ground track at latitude `lat`."""
    s = math.cos(math.radians(INCLINATION_DEG)) / math.cos(math.radians(lat))
    return 180.0 - math.degrees(math.asin(max(-1.0, min(1.0, s))))


# Reference orbits (public product names): S2A 2018-05-10T09:40:31 A015048 R036 (T35VNE,
# N02.06); S2B 2023-06-01T09:45:49 A032566 R079 (T34UDD, N05.09). S2C: launched
# 2024-09-05T01:50Z; it took over S2A's orbital phase in January 2025, so its relative orbit is
# computed with S2A's phasing and its absolute orbit counted from launch (approximate).
_ORBIT_REFERENCES = {
    "S2A": (datetime(2018, 5, 10, 9, 40, 31), 15048, 36),
    "S2B": (datetime(2023, 6, 1, 9, 45, 49), 32566, 79),
}
_S2C_LAUNCH = datetime(2024, 9, 5, 1, 50, 0)


def orbit_numbers(spacecraft: str, when: datetime) -> Tuple[int, int]:
    """(absolute orbit, relative orbit) of a unit at time `when` (approximate, deterministic)."""
    ref_unit = "S2A" if spacecraft == "S2C" else spacecraft
    t_ref, a_ref, r_ref = _ORBIT_REFERENCES[ref_unit]
    delta = int(math.floor((when - t_ref).total_seconds() / ORBIT_PERIOD_S + 0.5))
    relative = (r_ref - 1 + delta) % 143 + 1
    if spacecraft == "S2C":
        absolute = max(1, int((when - _S2C_LAUNCH).total_seconds() // ORBIT_PERIOD_S) + 1)
    else:
        absolute = a_ref + delta
    return absolute, relative


# ------------------------------------------------------------------------------- Viewing model
# Along-track look angle of each band (deg, + = forward) standing for its position in the focal
# plane, and the extra along-track offset of even/odd detectors (staggered rows).
BAND_ALONG_TRACK_DEG = {
    "B01": 1.00, "B02": -0.35, "B03": -0.15, "B04": 0.05, "B05": 0.20, "B06": 0.35, "B07": 0.50,
    "B08": -0.55, "B8A": 0.65, "B09": 0.80, "B10": -0.90, "B11": -0.75, "B12": -0.60,
}
DETECTOR_PARITY_DEG = 0.45
DETECTOR_WIDTH_KM = 24.2
# Across-track distance (km) of the full tile's centre from the nadir track, positive towards the
# right of the motion (west of the track for a descending pass); the satellite is then seen
# towards the east-south-east, as in most real mid-latitude tiles.
TILE_CENTRE_ACROSS_KM = 60.0


@dataclass
class ViewGeometry:
    """Per band: detector ids and per-detector grids of view zenith and azimuth (deg)."""

    detectors: Dict[str, List[int]]
    zenith: Dict[str, Dict[int, np.ndarray]]
    azimuth: Dict[str, Dict[int, np.ndarray]]
    heading_deg: float

    def merged(self, band: str) -> Tuple[np.ndarray, np.ndarray]:
        """Per-band grids merged over detectors (first non-NaN value, detector order)."""
        zen = np.full(next(iter(self.zenith[band].values())).shape, np.nan)
        azi = zen.copy()
        for det in self.detectors[band]:
            take = np.isnan(zen) & ~np.isnan(self.zenith[band][det])
            zen[take] = self.zenith[band][det][take]
            azi[take] = self.azimuth[band][det][take]
        return zen, azi


def _unit(azimuth_deg: float) -> Tuple[float, float]:
    a = math.radians(azimuth_deg)
    return math.sin(a), math.cos(a)          # (east, north)


def across_track_m(frame: TileFrame, heading: float, x, y) -> np.ndarray:
    """Across-track coordinate (m, + to the right of the motion) of UTM points."""
    right = _unit(heading + 90.0)
    cx, cy = frame.ulx + TILE_SIZE_M / 2, frame.uly - TILE_SIZE_M / 2
    return TILE_CENTRE_ACROSS_KM * 1000.0 + (np.asarray(x) - cx) * right[0] + (np.asarray(y) - cy) * right[1]


def detector_of(across_m, detector_width_m: float, band: str) -> np.ndarray:
    """Detector number (1..12) seen at an across-track coordinate, for one band."""
    shift = 30.0 * BAND_ALONG_TRACK_DEG[band]          # band-to-band footprint shift (m)
    edge = -6 * detector_width_m                       # swath edge: 12 detectors centred on nadir
    det = np.floor((np.asarray(across_m) + shift - edge) / detector_width_m).astype(np.int64) + 1
    return np.clip(det, 1, 12)


def view_angles(across_m, band: str, detector: np.ndarray, heading: float):
    """View zenith and azimuth (deg) for across-track positions, band and detector numbers."""
    d_km = np.asarray(across_m, dtype=np.float64) / 1000.0
    gamma = d_km / EARTH_RADIUS_KM
    rs = EARTH_RADIUS_KM + ALTITUDE_KM
    across_deg = np.degrees(np.arctan2(rs * np.sin(np.abs(gamma)), rs * np.cos(gamma) - EARTH_RADIUS_KM))
    across_deg = across_deg * np.sign(d_km)      # + : satellite to the left of the pixel (east)
    along_deg = BAND_ALONG_TRACK_DEG[band] + DETECTOR_PARITY_DEG * np.where(detector % 2 == 0, 1.0, -1.0)
    left = _unit(heading - 90.0)                 # direction from a right-side pixel to the track
    fwd = _unit(heading)
    east = across_deg * left[0] + along_deg * fwd[0]
    north = across_deg * left[1] + along_deg * fwd[1]
    zenith = np.hypot(east, north)
    azimuth = np.degrees(np.arctan2(east, north)) % 360.0
    return zenith, azimuth


def grid_nodes(frame: TileFrame, step_m: float, n_nodes: int = 23):
    """UTM coordinates of the angle-grid nodes (node (0, 0) on the upper-left corner)."""
    offsets = np.arange(n_nodes) * step_m
    x = frame.ulx + offsets[None, :] * np.ones((n_nodes, 1))
    y = frame.uly - offsets[:, None] * np.ones((1, n_nodes))
    return x, y


@dataclass
class SceneGeometry:
    """Everything angular about one product."""

    frame: TileFrame
    sensing_time: datetime
    grid_step_m: float
    sun_zenith: np.ndarray
    sun_azimuth: np.ndarray
    mean_sun_zenith: float
    mean_sun_azimuth: float
    view: ViewGeometry
    mean_view: Dict[str, Tuple[float, float]]    # band -> (zenith, azimuth)
    detector_width_m: float
    notes: List[str] = field(default_factory=list)


def compute_geometry(frame: TileFrame, sensing_time: datetime, extent_m: float, grid_step_m: float,
                     detector_width_m: float, targets: Optional[Dict[str, object]] = None,
                     n_nodes: int = 23) -> SceneGeometry:
    """Sun and view angle grids over the product; means forced to `targets` when given.

    `targets` = {'sun': (zenith, azimuth), 'view': {band: (zenith, azimuth)}}: the grids keep their
    spatial variation but are shifted so that their means equal the targets (the geometry the 6S
    table was computed for). Without targets the means are those of the full-tile grids.
    """
    lon_c, lat_c = frame.centre_lonlat
    heading = ground_track_heading(lat_c)
    # Full-tile reference grid (5 km), whose means define the scene geometry.
    fx, fy = grid_nodes(frame, 5000.0, 23)
    flon, flat = frame.lonlat(fx, fy)
    fsz, fsa = solar_position(sensing_time, flat, flon)
    ref_sun = (float(np.mean(fsz)), float(np.mean(fsa)))
    f_across = across_track_m(frame, heading, fx, fy)
    ref_view = {}
    for band in BANDS:
        det = detector_of(f_across, DETECTOR_WIDTH_KM * 1000.0, band)
        z, a = view_angles(f_across, band, det, heading)
        ref_view[band] = (float(np.mean(z)), float(np.mean(a)))
    if targets is None:
        targets = {"sun": ref_sun, "view": ref_view}

    # Product grid.
    x, y = grid_nodes(frame, grid_step_m, n_nodes)
    lon, lat = frame.lonlat(x, y)
    sz, sa = solar_position(sensing_time, lat, lon)
    sz = sz - sz.mean() + targets["sun"][0]
    sa = sa - sa.mean() + targets["sun"][1]

    across = across_track_m(frame, heading, x, y)
    # Detector stripes on the product: true width for the full tile, narrowed for small products.
    x0 = product_across_origin(frame, heading, extent_m)
    zen: Dict[str, Dict[int, np.ndarray]] = {}
    azi: Dict[str, Dict[int, np.ndarray]] = {}
    dets: Dict[str, List[int]] = {}
    view_means: Dict[str, Tuple[float, float]] = {}
    for band in BANDS:
        det_nodes = _detector_map(across, x0, detector_width_m, band)
        z_raw, a_raw = view_angles(across, band, det_nodes, heading)
        dz = targets["view"][band][0] - z_raw.mean()
        da = targets["view"][band][1] - a_raw.mean()
        z_all, a_all = z_raw + dz, a_raw + da
        zen[band], azi[band] = {}, {}
        ids = sorted(int(d) for d in np.unique(det_nodes))
        # A node belongs to a detector grid if the detector covers it or a neighbouring node
        # (real grids overlap by about one node at the stripe edges).
        for d in ids:
            own = det_nodes == d
            grown = own.copy()
            grown[:, 1:] |= own[:, :-1]
            grown[:, :-1] |= own[:, 1:]
            zen[band][d] = np.where(grown, z_all, np.nan)
            azi[band][d] = np.where(grown, a_all, np.nan)
        dets[band] = ids
        view_means[band] = (float(targets["view"][band][0]), float(targets["view"][band][1]))
    view = ViewGeometry(dets, zen, azi, heading)
    return SceneGeometry(frame, sensing_time, grid_step_m, sz, sa, float(targets["sun"][0]),
                         float(targets["sun"][1]), view, view_means, detector_width_m)


def _detector_map(across, origin_across, width_m: float, band: str) -> np.ndarray:
    """Detector number for across-track coordinates; narrowed stripes keep ids 1..12."""
    if width_m >= DETECTOR_WIDTH_KM * 1000.0:
        return detector_of(across, width_m, band)
    shift = 30.0 * BAND_ALONG_TRACK_DEG[band] * width_m / (DETECTOR_WIDTH_KM * 1000.0)
    rel = np.asarray(across) - origin_across + shift
    return np.clip(np.floor(rel / width_m).astype(np.int64) + 4, 1, 12)


def product_across_origin(frame: TileFrame, heading: float, extent_m: float) -> float:
    """Smallest across-track coordinate over the product's corners."""
    xs = np.array([frame.ulx, frame.ulx + extent_m, frame.ulx, frame.ulx + extent_m])
    ys = np.array([frame.uly, frame.uly, frame.uly - extent_m, frame.uly - extent_m])
    return float(across_track_m(frame, heading, xs, ys).min())


def detector_raster(frame: TileFrame, heading: float, ncols: int, nrows: int, res: float,
                    width_m: float, band: str, extent_m: float) -> np.ndarray:
    """Detector number per pixel centre (uint8) of a band grid."""
    xs = frame.ulx + (np.arange(ncols) + 0.5) * res
    ys = frame.uly - (np.arange(nrows) + 0.5) * res
    x0 = product_across_origin(frame, heading, extent_m)
    out = np.empty((nrows, ncols), dtype=np.uint8)
    for r in range(0, nrows, 512):                      # row chunks: bounded memory
        across = across_track_m(frame, heading, xs[None, :], ys[r:r + 512, None])
        out[r:r + 512] = _detector_map(across, x0, width_m, band)
    return out


def parse_date(text: Optional[str]) -> datetime:
    """'2023-04-12', '20230412', '2023-04-12T09:51:00' (UTC) -> naive UTC datetime."""
    if text is None:
        raise ValueError("no date")
    text = text.strip().rstrip("Z")
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y%m%dT%H%M%S", "%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"cannot read date {text!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)")
