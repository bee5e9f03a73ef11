"""Synthetic scene at 10 m: land covers with texture, thick clouds and their shadows, thin cirrus.

Everything is drawn from one seeded `numpy.random.Generator`, so the same arguments give the same
arrays. Feature sizes follow the product size (a 2.4 km tiny product still holds every land
cover, a cloud, its shadow and some cirrus).

Layout:
* land-cover patches: a Voronoi partition warped by smooth noise; vegetation / bare-soil patches
  are cut into rotated rectangular fields; urban patches get a street grid; a meandering river;
* calibration targets: one homogeneous 120 m x 120 m square per land cover (no texture), aligned
  on the 60 m grid and kept free of cloud, shadow and cirrus, so that every band (10/20/60 m) has
  pure pixels whose TOA value can be compared with the direct 6S runs of the table;
* thick clouds: noise-warped blobs (cloud fraction 0..1, soft edges, brightness 0.85..1);
* cloud shadows: each blob projected along the anti-solar azimuth by h * tan(SZA) (cloud top
  height h per blob);
* thin cirrus: smooth streaks of extra TOA reflectance (B10 value 0.015..0.028 at the core).

Layout "shadowed_covers" (`make_scene(..., layout="shadowed_covers")`): a test scene for cloud
shadows over the covers where they are hardest to classify. Three straight north-south strips,
water | snow | urban (street grid), each wide compared with the 300 m ESA CCI land-cover cells;
in every strip clouds are placed so that their shadows fall inside the same strip, on open
water, open snow and built-up ground. No cirrus, no calibration targets.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from .spectra import LAND_COVER_CODES, LAND_COVERS

TARGET_SIZE_PX = 12          # 120 m: 2 x 2 pixels at 60 m


@dataclass
class Scene:
    """Maps over the data window (10 m pixels, window-relative)."""

    size: int                                   # side of the window (10 m pixels)
    landcover: np.ndarray                       # uint8 land-cover codes (spectra.LAND_COVERS)
    brightness: np.ndarray                      # float32 multiplicative texture
    vigour: np.ndarray                          # float32 vegetation vigour (-1..1, 0 elsewhere)
    cloud: np.ndarray                           # float32 thick-cloud fraction 0..1
    cloud_brightness: np.ndarray                # float32 factor on the cloud spectrum
    shadow: np.ndarray                          # float32 cloud-shadow strength 0..1
    cirrus: np.ndarray                          # float32 cirrus TOA reflectance (B10 units)
    targets: List[Dict[str, object]] = field(default_factory=list)
    clouds: List[Dict[str, float]] = field(default_factory=list)


def _resize(a: np.ndarray, shape: Tuple[int, int], order: int) -> np.ndarray:
    out = ndimage.zoom(a, (shape[0] / a.shape[0], shape[1] / a.shape[1]), order=order,
                       grid_mode=True, mode="nearest")
    out = out[:shape[0], :shape[1]]
    if out.shape != tuple(shape):
        out = np.pad(out, ((0, shape[0] - out.shape[0]), (0, shape[1] - out.shape[1])), mode="edge")
    return out


def smooth_noise(rng: np.random.Generator, shape: Tuple[int, int], scale_px: float) -> np.ndarray:
    """Zero-mean, unit-std random field with features of about `scale_px` pixels (float32)."""
    ny, nx = shape
    if scale_px <= 3:
        field_ = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), scale_px / 2)
    else:
        coarse = rng.standard_normal((max(2, int(math.ceil(ny / scale_px)) + 1),
                                      max(2, int(math.ceil(nx / scale_px)) + 1))).astype(np.float32)
        k = max(1, int(scale_px // 6))
        if max(ny, nx) > 1200 and k > 1:
            # cubic to an intermediate grid, then bilinear: smooth and much faster on big grids
            mid = _resize(coarse, (int(math.ceil(ny / k)), int(math.ceil(nx / k))), 3)
            field_ = _resize(mid, shape, 1)
        else:
            field_ = _resize(coarse, shape, 3)
    field_ -= field_.mean()
    std = field_.std()
    return (field_ / std if std > 0 else field_).astype(np.float32)


LAYOUTS = ("patches", "shadowed_covers")


def make_scene(rng: np.random.Generator, size: int, sun_zenith: float, sun_azimuth: float,
               exclude_left=None, layout: str = "patches") -> Scene:
    """Build the scene maps for a square data window of `size` 10 m pixels.

    `exclude_left(rows)` gives, per window row, the first column that has data (the no-data wedge
    of the product); targets and clouds avoid the excluded part. `layout`: "patches" (the
    default scene) or "shadowed_covers" (module notes).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if layout == "shadowed_covers":
        return _shadowed_covers_scene(rng, size, sun_zenith, sun_azimuth, exclude_left)
    m = size
    patch = float(np.clip(m / 6.0, 20.0, 300.0))          # land-cover patch size (px)
    landcover = _land_cover_patches(rng, m, patch)
    _fields(rng, landcover, m, patch)
    urban_texture = _urban(rng, landcover, m)
    _river(rng, landcover, m)

    fine = smooth_noise(rng, (m, m), 2.0)
    medium = smooth_noise(rng, (m, m), max(6.0, patch / 5))
    amp = np.array([0, 0.05, 0.07, 0.08, 0.10, 0.03, 0.02], dtype=np.float32)[landcover]
    brightness = 1.0 + amp * np.clip(0.6 * fine + 0.4 * medium, -2.5, 2.5)
    brightness *= urban_texture
    ddv = landcover == LAND_COVER_CODES["dense_dark_vegetation"]
    brightness[ddv] = np.clip(brightness[ddv], 0.88, 1.12)    # keep DDV B12 below 0.05
    vigour = np.where(landcover == LAND_COVER_CODES["vegetation"],
                      np.clip(smooth_noise(rng, (m, m), max(8.0, patch / 3)) * 0.5, -1, 1), 0.0)
    vigour = vigour.astype(np.float32)

    targets = _targets(landcover, brightness, vigour, m)
    keep_out = np.zeros((m, m), dtype=bool)
    for t in targets:
        r, c, s = t["row"], t["col"], t["size"]
        keep_out[max(0, r - s):r + 2 * s, max(0, c - s):c + 2 * s] = True

    cloud, cloud_bright, shadow, clouds = _clouds(rng, m, sun_zenith, sun_azimuth, keep_out,
                                                  exclude_left)
    cirrus = _cirrus(rng, m, keep_out)
    return Scene(m, landcover, brightness.astype(np.float32), vigour, cloud, cloud_bright, shadow,
                 cirrus, targets, clouds)


# ------------------------------------------------------------------------------------ land cover
_CLASS_PROBABILITIES = {1: 0.28, 2: 0.32, 3: 0.14, 4: 0.09, 5: 0.10, 6: 0.07}


def _land_cover_patches(rng, m: int, patch: float) -> np.ndarray:
    n_seeds = max(12, int(round((m / patch) ** 2 * 1.3)))
    seeds = rng.uniform(0, m, size=(n_seeds, 2))
    codes = np.array(list(_CLASS_PROBABILITIES))
    probs = np.array(list(_CLASS_PROBABILITIES.values()))
    classes = rng.choice(codes, size=n_seeds, p=probs / probs.sum())
    # Every land cover at least once: the seeds nearest to six anchors spread over the window.
    anchors = np.array([[0.30, 0.22], [0.30, 0.55], [0.30, 0.85], [0.75, 0.22], [0.75, 0.55],
                        [0.75, 0.85]]) * m
    order = [1, 2, 3, 4, 5, 6]
    rng.shuffle(order)
    tree = cKDTree(seeds)
    used = set()
    for anchor, code in zip(anchors, order):
        _, idx = tree.query(anchor, k=min(n_seeds, 8))
        for i in np.atleast_1d(idx):
            if int(i) not in used:
                classes[int(i)] = code
                used.add(int(i))
                break
    # Nearest seed on a coarse grid with warped coordinates, then nearest-neighbour upsampling.
    f = max(1, m // 600)
    mc = int(math.ceil(m / f))
    warp_y = smooth_noise(rng, (mc, mc), max(4.0, patch / f / 2)) * (0.25 * patch)
    warp_x = smooth_noise(rng, (mc, mc), max(4.0, patch / f / 2)) * (0.25 * patch)
    yy, xx = np.mgrid[0:mc, 0:mc].astype(np.float32)
    pts = np.stack([(yy * f + f / 2 + warp_y).ravel(), (xx * f + f / 2 + warp_x).ravel()], axis=1)
    _, nearest = tree.query(pts)
    lc = classes[nearest].reshape(mc, mc).astype(np.uint8)
    if f > 1:
        lc = np.repeat(np.repeat(lc, f, axis=0), f, axis=1)[:m, :m]
    return np.ascontiguousarray(lc)


def _fields(rng, lc: np.ndarray, m: int, patch: float) -> None:
    """Cut vegetation and bare-soil patches into rotated rectangular fields."""
    agri = (lc == 2) | (lc == 3)
    if not agri.any():
        return
    angle = rng.uniform(0, math.pi)
    fw, fh = max(8.0, patch / 4), max(5.0, patch / 7)
    yy = np.arange(m, dtype=np.float32)[:, None]
    xx = np.arange(m, dtype=np.float32)[None, :]
    u = xx * math.cos(angle) + yy * math.sin(angle)
    v = -xx * math.sin(angle) + yy * math.cos(angle)
    ids = (np.floor(u / fw).astype(np.int64) * 100003 + np.floor(v / fh).astype(np.int64))
    uniq, inverse = np.unique(ids[agri], return_inverse=True)
    soil = rng.uniform(size=uniq.size) < 0.35
    lc[agri] = np.where(soil[inverse], 3, 2).astype(np.uint8)


def _urban(rng, lc: np.ndarray, m: int) -> np.ndarray:
    """Street grid and roof brightness inside urban patches (brightness factor)."""
    factor = np.ones((m, m), dtype=np.float32)
    urban = lc == 4
    if not urban.any():
        return factor
    block, street = 9, 2
    angle = rng.uniform(0, math.pi / 2)
    yy = np.arange(m, dtype=np.float32)[:, None]
    xx = np.arange(m, dtype=np.float32)[None, :]
    u = xx * math.cos(angle) + yy * math.sin(angle)
    v = -xx * math.sin(angle) + yy * math.cos(angle)
    streets = (np.mod(u, block) < street) | (np.mod(v, block) < street)
    ids = np.floor(u / block).astype(np.int64) * 100003 + np.floor(v / block).astype(np.int64)
    uniq, inverse = np.unique(ids[urban], return_inverse=True)
    roof = rng.uniform(0.8, 1.35, size=uniq.size).astype(np.float32)
    factor[urban] = np.where(streets[urban], 0.65, roof[inverse])
    return factor


def _river(rng, lc: np.ndarray, m: int) -> None:
    width = 3.0 if m < 600 else 6.0
    x = np.arange(m, dtype=np.float32)
    wave = m / 8 * np.sin(2 * math.pi * x / (m / rng.uniform(1.2, 2.0)) + rng.uniform(0, 2 * math.pi))
    y0 = rng.uniform(0.55, 0.7) * m
    centre = y0 + wave + smooth_noise(rng, (1, m), max(4.0, m / 20))[0] * m / 40
    yy = np.arange(m, dtype=np.float32)[:, None]
    lc[np.abs(yy - centre[None, :]) < width / 2] = 5


def _targets(lc, brightness, vigour, m) -> List[Dict[str, object]]:
    s = TARGET_SIZE_PX
    row = 12
    spacing = 2 * s
    first = max(36, (m // 2 - 3 * spacing) // 6 * 6)
    out = []
    for i, (code, (name, _, scl)) in enumerate(sorted(LAND_COVERS.items())):
        col = first + i * spacing
        lc[row:row + s, col:col + s] = code
        brightness[row:row + s, col:col + s] = 1.0
        vigour[row:row + s, col:col + s] = 0.0
        out.append({"name": name, "code": code, "scl": scl, "row": row, "col": col, "size": s})
    return out


# ---------------------------------------------------------------------------------------- clouds
def _blob(rng, radius: float, halo: int):
    """Soft cloud-fraction blob in a (2 * (radius + halo) + 1)^2 box, centred."""
    half = int(math.ceil(radius * 1.4)) + halo
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float32)
    ell = rng.uniform(0.65, 1.0)
    rot = rng.uniform(0, math.pi)
    u = xx * math.cos(rot) + yy * math.sin(rot)
    v = (-xx * math.sin(rot) + yy * math.cos(rot)) / ell
    r = np.sqrt(u * u + v * v) / radius
    r += 0.22 * smooth_noise(rng, r.shape, max(3.0, radius / 3))
    edge = max(0.08, 2.5 / radius)                         # soft edge about 2-3 pixels
    alpha = np.clip((1.0 - r) / edge + 0.5, 0.0, 1.0)
    return alpha.astype(np.float32), half


def _slices(shape_dst, shape_src, r0, c0):
    """(dst, src) slice pairs pasting `src` at (r0, c0) into `dst`, clipped; None if outside."""
    h, w = shape_src
    a0, b0 = max(0, r0), max(0, c0)
    a1, b1 = min(shape_dst[0], r0 + h), min(shape_dst[1], c0 + w)
    if a0 >= a1 or b0 >= b1:
        return None
    return (slice(a0, a1), slice(b0, b1)), (slice(a0 - r0, a1 - r0), slice(b0 - c0, b1 - c0))


def _paste_max(dst, src, r0, c0):
    sl = _slices(dst.shape, src.shape, r0, c0)
    if sl:
        np.maximum(dst[sl[0]], src[sl[1]], out=dst[sl[0]])


def _paint_cloud(rng, cloud, bright, shadow, alpha, half: int, radius: float, centre, shadow_centre) -> None:
    """Paste one cloud blob (fraction `alpha`) at `centre`, darken its brightness texture and
    paste its shadow at `shadow_centre` ((row, col) in pixels, blob centred)."""
    r0, c0 = int(round(centre[0])) - half, int(round(centre[1])) - half
    _paste_max(cloud, alpha, r0, c0)
    tex = (0.92 + 0.05 * smooth_noise(rng, alpha.shape, max(3.0, radius / 4))).clip(0.85, 1.0)
    sl = _slices(bright.shape, alpha.shape, r0, c0)
    if sl:
        np.minimum(bright[sl[0]], np.where(alpha[sl[1]] > 0, tex[sl[1]], 1.0), out=bright[sl[0]])
    _paste_max(shadow, alpha, int(round(shadow_centre[0])) - half, int(round(shadow_centre[1])) - half)


def _clouds(rng, m, sun_zenith, sun_azimuth, keep_out, exclude_left):
    tiny = m < 600
    area_km2 = (m * 0.01) ** 2
    n_clouds = 2 if tiny else int(np.clip(round(area_km2 * 0.025), 4, 60))
    cloud = np.zeros((m, m), dtype=np.float32)
    shadow = np.zeros((m, m), dtype=np.float32)
    bright = np.ones((m, m), dtype=np.float32)
    tan_z = math.tan(math.radians(sun_zenith))
    az = math.radians(sun_azimuth)
    clouds = []
    for _ in range(n_clouds):
        radius = rng.uniform(12, 22) if tiny else rng.uniform(30, 110)
        height = rng.uniform(450, 650) if tiny else rng.uniform(1200, 2500)
        d_row = height * tan_z * math.cos(az) / 10.0           # rows grow southwards
        d_col = -height * tan_z * math.sin(az) / 10.0
        alpha, half = _blob(rng, radius, 3)
        for _attempt in range(60):
            rc = rng.uniform(radius + half * 0.2, m - radius)
            cc = rng.uniform(radius, m - radius)
            sr, sc = rc + d_row, cc + d_col
            inside = radius <= sr <= m - radius and radius <= sc <= m - radius
            if not inside:
                continue
            box = [(rc, cc), (sr, sc)]
            if any(keep_out[int(np.clip(r + dr, 0, m - 1)), int(np.clip(c + dc, 0, m - 1))]
                   for r, c in box for dr in (-half, 0, half) for dc in (-half, 0, half)):
                continue
            if exclude_left is not None and (cc - half < exclude_left(int(rc)) + 4
                                             or sc - half < exclude_left(int(sr)) + 4):
                continue
            break
        else:
            continue
        _paint_cloud(rng, cloud, bright, shadow, alpha, half, radius, (rc, cc), (rc + d_row, cc + d_col))
        clouds.append({"row": round(rc, 2), "col": round(cc, 2), "radius_px": round(radius, 2),
                       "top_height_m": round(height, 1), "shadow_row": round(sr, 2),
                       "shadow_col": round(sc, 2)})
    shadow[keep_out] = 0.0
    cloud[keep_out] = 0.0
    return cloud, bright, shadow, clouds


def _cirrus(rng, m, keep_out) -> np.ndarray:
    n_streaks = 1 if m < 600 else (2 if m < 3000 else 4)
    yy = np.arange(m, dtype=np.float32)[:, None]
    xx = np.arange(m, dtype=np.float32)[None, :]
    cirrus = np.zeros((m, m), dtype=np.float32)
    texture = 0.8 + 0.2 * smooth_noise(rng, (m, m), max(4.0, m / 40))
    for _ in range(n_streaks):
        angle = rng.uniform(0, math.pi)
        # the streak passes through a point in the lower half, away from the target row
        py, px = rng.uniform(0.55, 0.85) * m, rng.uniform(0.3, 0.7) * m
        d = (xx - px) * math.sin(angle) - (yy - py) * math.cos(angle)
        width = m / (rng.uniform(16, 22) if m < 600 else rng.uniform(35, 45))
        peak = rng.uniform(0.022, 0.028)
        streak = peak * np.exp(-0.5 * (d / width) ** 2) * texture
        np.maximum(cirrus, streak, out=cirrus)
    cirrus[cirrus < 0.002] = 0.0
    cirrus[keep_out] = 0.0
    return cirrus


# ----------------------------------------------------------------------- layout "shadowed_covers"
# (land-cover code, first and last column as fractions of the window): water | snow | urban.
SHADOWED_COVER_STRIPS = ((5, 0.0, 0.33), (6, 0.33, 0.64), (4, 0.64, 1.0))


def _shadowed_covers_scene(rng, m: int, sun_zenith: float, sun_azimuth: float,
                           exclude_left=None) -> Scene:
    """Straight water | snow | urban strips; in each strip clouds whose shadows fall inside it."""
    lc = np.zeros((m, m), dtype=np.uint8)
    bounds = []
    for code, a, b in SHADOWED_COVER_STRIPS:
        c0, c1 = int(round(a * m)), int(round(b * m))
        lc[:, c0:c1] = code
        bounds.append((c0, c1))
    urban_texture = _urban(rng, lc, m)
    fine = smooth_noise(rng, (m, m), 2.0)
    medium = smooth_noise(rng, (m, m), max(6.0, m / 30))
    amp = np.array([0, 0.05, 0.07, 0.08, 0.10, 0.03, 0.02], dtype=np.float32)[lc]
    brightness = (1.0 + amp * np.clip(0.6 * fine + 0.4 * medium, -2.5, 2.5)) * urban_texture
    vigour = np.zeros((m, m), dtype=np.float32)

    tiny = m < 600
    tan_z = math.tan(math.radians(sun_zenith))
    az = math.radians(sun_azimuth)
    cloud = np.zeros((m, m), dtype=np.float32)
    shadow = np.zeros((m, m), dtype=np.float32)
    bright = np.ones((m, m), dtype=np.float32)
    clouds: List[Dict[str, float]] = []
    first = (lambda r: 0) if exclude_left is None else (lambda r: exclude_left(int(np.clip(r, 0, m - 1))))
    for c0, c1 in bounds:
        width = c1 - c0
        radius = min(rng.uniform(16, 19) if tiny else rng.uniform(40, 60), 0.27 * width)
        height = rng.uniform(500, 600) if tiny else rng.uniform(1200, 1600)
        d_row = height * tan_z * math.cos(az) / 10.0
        d_col = -height * tan_z * math.sin(az) / 10.0
        reach = 1.15 * radius + 2                       # rows/cols a blob reaches from its centre
        span = abs(d_row) + 2 * reach + 4               # rows taken by one cloud and its shadow
        n_pairs = int(max(1, min(3, m // span)))
        for k in range(n_pairs):
            north = (k + 0.5) * m / n_pairs - span / 2 + reach + 2
            south = north + abs(d_row)
            rc, sr = (north, south) if d_row > 0 else (south, north)
            lo = max(c0, first(sr + reach) + 2) + reach
            sc = 0.5 * (lo + c1 - reach)
            cc = sc - d_col
            alpha, half = _blob(rng, radius, 3)
            _paint_cloud(rng, cloud, bright, shadow, alpha, half, radius, (rc, cc), (sr, sc))
            clouds.append({"row": round(rc, 2), "col": round(cc, 2), "radius_px": round(radius, 2),
                           "top_height_m": round(height, 1), "shadow_row": round(sr, 2),
                           "shadow_col": round(sc, 2)})
    cirrus = np.zeros((m, m), dtype=np.float32)
    return Scene(m, lc, brightness.astype(np.float32), vigour, cloud, bright, shadow, cirrus, [], clouds)
