"""Orchestration: scene -> forward atmosphere (6S table) -> DN -> JPEG 2000, masks, AUX, metadata,
manifest; truth files beside the product.

    generate_product(output_dir, size="tiny", baseline="05.09", spacecraft="S2B", seed=0,
                     tile=None, date=None, zip_product=False, truth=True) -> Path of the .SAFE

Deterministic: the same arguments give byte-identical files (seeded numpy Generator, timestamps
derived from the date, sorted and fixed-time zip entries). The scene depends only on (seed, size):
products of different baselines or units share the same pixels, so e.g. the 05.09 DN equal the
02.07 DN + 1000.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import numpy as np

from . import config, geometry, metadata, rasters
from .atmosphere import ForwardModel, ReliefForward, load_table
from .relief import (ALPINE_ELEVATION_RANGE_M, ALPINE_MAX_SLOPE_DEG, ALPINE_SPACING_M,
                     DEM_FILE_RESOLUTION, MARGIN_M, Relief, TerrainLayers, make_alpine_relief,
                     make_relief, terrain_layers, terrain_reflectance)
from .scene import make_scene
from .spectra import (BANDS, CLOUD_REFLECTANCE, LAND_COVERS, SCL_CLOUD_HIGH, SCL_CLOUD_MEDIUM,
                      SCL_SHADOW, SCL_THIN_CIRRUS, SURFACE_REFLECTANCE)

NATIVE = metadata.NATIVE
RESOLUTIONS = (10, 20, 60)
# Vegetation vigour: relative change of reflectance per unit vigour, per band.
_VIGOUR = {"B01": -0.04, "B02": -0.04, "B03": -0.03, "B04": -0.12, "B05": -0.05, "B06": 0.06,
           "B07": 0.08, "B08": 0.08, "B8A": 0.08, "B09": 0.08, "B10": 0.0, "B11": -0.05, "B12": -0.05}
CIRRUS_SCL_THRESHOLD = 0.012          # Sen2Cor's thin-cirrus test on B10 TOA (§5.1)


def _log(quiet: bool, msg: str) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _block_mean(a: np.ndarray, f: int) -> np.ndarray:
    if f == 1:
        return a
    h, w = a.shape
    return a.reshape(h // f, f, w // f, f).mean(axis=(1, 3), dtype=np.float32)


def _block_majority(a: np.ndarray, f: int, codes) -> np.ndarray:
    if f == 1:
        return a
    h, w = a.shape
    best = np.zeros((h // f, w // f), dtype=np.uint8)
    best_count = np.full((h // f, w // f), -1, dtype=np.int16)
    for code in codes:
        count = (a == code).reshape(h // f, f, w // f, f).sum(axis=(1, 3), dtype=np.int16)
        take = count > best_count
        best[take] = code
        best_count[take] = count[take]
    return best


class _Writer:
    """Thread pool for file writers with back-pressure (bounded memory for the full size)."""

    def __init__(self, workers: int, max_pending: int = 4):
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers))
        self.pending = []
        self.max_pending = max_pending

    def submit(self, fn, *args) -> None:
        while len(self.pending) >= self.max_pending:
            self.pending.pop(0).result()
        self.pending.append(self.pool.submit(fn, *args))

    def wait(self) -> None:
        while self.pending:
            self.pending.pop(0).result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self.pool.shutdown()


def _baseline(text: str) -> str:
    parts = str(text).split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"baseline must look like 05.09, got {text!r}")
    return f"{int(parts[0]):02d}.{int(parts[1]):02d}"


class _Product:
    """Grid bookkeeping of one product."""

    def __init__(self, size: str):
        if size not in config.SIZES:
            raise ValueError(f"size must be one of {sorted(config.SIZES)}, got {size!r}")
        self.size = size
        self.n10, window = config.SIZES[size]
        self.m = window or self.n10
        off = (self.n10 - self.m) // 2
        self.off = off - off % 6
        self.wedge = window is None
        self.extent_m = self.n10 * 10.0

    def shape(self, res: int) -> Tuple[int, int]:
        n = self.n10 * 10 // res
        return n, n

    def valid(self, res: int) -> np.ndarray:
        """Valid-data mask of a resolution grid (pixel centres in the data window, off the wedge)."""
        n = self.n10 * 10 // res
        c = (np.arange(n) + 0.5) * (res / 10.0)                 # centres in 10 m pixel units
        inside = (c >= self.off) & (c < self.off + self.m)
        ok = inside[:, None] & inside[None, :]
        if self.wedge:
            ok &= c[None, :] >= 0.08 * c[:, None]
        return ok

    def window(self, res: int) -> Tuple[slice, slice]:
        f = res // 10
        a, b = self.off // f, (self.off + self.m) // f
        return slice(a, b), slice(a, b)


def generate_product(output_dir: Union[str, Path], size: str = "tiny", baseline: str = "05.09",
                     spacecraft: str = "S2B", seed: int = 0, tile: Optional[str] = None,
                     date: Optional[str] = None, zip_product: bool = False, truth: bool = True,
                     quiet: bool = True, workers: int = 2, atmosphere: str = "default",
                     relief: str = "flat", layout: str = "patches") -> Path:
    """Generate a compact-SAFE L1C product in `output_dir`; returns the .SAFE folder path.

    size: 'tiny' (240 px at 10 m, unit tests), 'small' (1830 px), 'full' (10980 px, data in the
    central 5490 px window), 'full_coverage' (10980 px, data everywhere: the pipeline benchmark). baseline: '05.09' (default; RADIO_ADD_OFFSET -1000, raster masks,
    AUX_CAMSFO) or an older one such as '02.07' (no offset, GML masks, no AUX_CAMSFO).
    spacecraft: S2A, S2B or S2C. tile/date: MGRS tile and sensing date (default: the 6S table's
    scene, 34UDD on 2023-04-12); with another tile or date the metadata angles are those of that
    acquisition but the pixels keep the table's atmosphere geometry (warning; see truth.json).
    truth: also write <product>.truth/ beside the .SAFE. zip_product: also write <product>.zip.
    atmosphere: one of config.ATMOSPHERES ('default', 'aot0.05', 'aot0.40', 'wv0.5', 'wv4.0',
    'sza25', 'sza60', 'z1.5', 'hazy_mountain'): the forward atmosphere (AOT550, water vapour,
    sun zenith, ground altitude) from data/sixs_atmospheres.json (S2B only) - the metadata sun
    angles, AUX_ECMWFT / AUX_CAMSFO fields and truth follow it. 'default' is the original product.
    relief: 'flat' (default) or 'mountain' (tiny/small, default atmosphere): the ground gets an
    analytic relief of ridges and valleys (relief.py), the TOA reflectance the Lambertian terrain
    model at each pixel's elevation (atmosphere.ReliefForward); the DEM is written beside the
    product (`dem_file_for(safe)`, a GeoTIFF the DEM reader takes as DEM_Directory) and the truth
    gains the DEM, slope, aspect, sky view and cos(beta). 'alpine' (tiny/small, default
    atmosphere): the same with more than 1 km of relief inside 0.15-1.45 km (ridges and valleys
    with spurs and gullies, slopes up to 35 deg; relief.make_alpine_relief).
    layout: the scene layout (scene.LAYOUTS): 'patches' (default) or 'shadowed_covers' (water,
    snow and urban strips with cloud shadows on each; scene.py).
    """
    t_start = time.time()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    baseline = _baseline(baseline)
    spacecraft = spacecraft.upper()
    if spacecraft not in config.SPACECRAFTS:
        raise ValueError(f"spacecraft must be one of {config.SPACECRAFTS}, got {spacecraft!r}")
    table = atmosphere_table(atmosphere)
    if spacecraft not in table["units"]:
        raise ValueError(f"atmosphere {atmosphere!r} is tabulated for {sorted(table['units'])} only")
    fm = ForwardModel(spacecraft, table)
    tgeo = table["geometry"]
    prod = _Product(size)
    if relief not in config.RELIEFS:
        raise ValueError(f"relief must be one of {config.RELIEFS}, got {relief!r}")
    rf = None
    if relief != "flat":
        if atmosphere != "default" or size in config.FULL_TILE_SIZES:
            raise ValueError(f"relief={relief!r} needs atmosphere='default' and size tiny or small")
        rf = ReliefForward(fm, top_km=config.RELIEF_TOP_LEVEL_KM[relief])

    # ----------------------------------------------------------------------- geometry, names
    tile = (tile or tgeo["tile"]).upper()
    if tile.startswith("T") and len(tile) == 6:
        tile = tile[1:]
    frame = geometry.tile_frame(tile)
    lon_c, lat_c = frame.centre_lonlat
    day = geometry.parse_date(date or tgeo["date"])
    has_time = date is not None and ("T" in date or ":" in date)
    sensing = day if has_time else geometry.overpass_time(day, lat_c, lon_c)
    matches = (tile == tgeo["tile"]
               and metadata.t_iso(sensing, 6) == tgeo["sensing_time"].replace("Z", "")[:26] + "Z")
    targets = None
    notes: List[str] = []
    if matches:
        targets = {"sun": (tgeo["sun_zenith"], tgeo["sun_azimuth"]),
                   "view": {b: tuple(v) for b, v in tgeo["view"].items()}}
    else:
        notes.append(
            f"tile/date differ from the 6S table scene ({tgeo['tile']} {tgeo['sensing_time']}): "
            "metadata angles are those of this acquisition, pixels keep the table's atmosphere "
            f"geometry (SZA {tgeo['sun_zenith']:.3f}, SAA {tgeo['sun_azimuth']:.3f})")
        warnings.warn(notes[-1], stacklevel=2)
    grid_step = 5000.0 if size in config.FULL_TILE_SIZES else math.ceil(prod.extent_m / 22 / 10) * 10.0
    det_width = geometry.DETECTOR_WIDTH_KM * 1000.0 if size in config.FULL_TILE_SIZES else prod.extent_m / 3.5
    geo = geometry.compute_geometry(frame, sensing, prod.extent_m, grid_step, det_width, targets)

    datatake_start = (sensing - timedelta(seconds=576)).replace(microsecond=24000)
    datastrip_start = datatake_start.replace(microsecond=0) - timedelta(seconds=6)
    generation = datatake_start.replace(microsecond=0) + timedelta(hours=2, minutes=6, seconds=35)
    abs_orbit, rel_orbit = geometry.orbit_numbers(spacecraft, datatake_start)
    centre = f"{spacecraft[1:]}PS" if float(baseline) >= 4.0 else "SGS_"
    nm = metadata.Naming(spacecraft, config.SPACECRAFT_NAMES[spacecraft], baseline, tile, rel_orbit,
                         abs_orbit, datatake_start, datastrip_start,
                         sensing + timedelta(minutes=12), sensing, generation, centre)
    offset_dn = 1000 if nm.has_offset else 0
    u = 1.0 / geometry.sun_earth_distance(sensing) ** 2

    final = output_dir / nm.product_name
    tmp = output_dir / (nm.product_name + f".part{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    granule = tmp / "GRANULE" / nm.granule_dir
    img, qi, aux = granule / "IMG_DATA", granule / "QI_DATA", granule / "AUX_DATA"
    ds_dir = tmp / "DATASTRIP" / nm.datastrip_dir
    for d in (img, qi, aux, ds_dir / "QI_DATA"):
        d.mkdir(parents=True)

    truth_tmp = truth_dir_for(final).with_name(truth_dir_for(final).name + f".part{os.getpid()}")
    writer = None
    try:
        # ------------------------------------------------------------------------------- scene
        rng = np.random.default_rng([int(seed), list(config.SIZES).index(size)])
        scene = make_scene(rng, prod.m, float(table["geometry"]["sun_zenith"]),
                           float(table["geometry"]["sun_azimuth"]),
                           exclude_left=(lambda r: int(0.08 * (r + 0.5)) + 1) if prod.wedge else None,
                           layout=layout)
        _log(quiet, f"scene {prod.m}x{prod.m} px: {time.time() - t_start:.1f} s")
        terrain = None
        if rf is not None:
            terrain = _relief_layers(seed, size, prod, tgeo, relief)
            _log(quiet, f"relief: {time.time() - t_start:.1f} s")

        spectra_arr = np.zeros((7, len(BANDS)), dtype=np.float32)
        for code, (name, _, _) in LAND_COVERS.items():
            spectra_arr[code] = SURFACE_REFLECTANCE[name]
        veg = (scene.landcover == 2)
        valid = {res: prod.valid(res) for res in RESOLUTIONS}
        gt = {res: (frame.ulx, float(res), 0.0, frame.uly, 0.0, -float(res)) for res in RESOLUTIONS}
        epsg = frame.epsg

        dn: Dict[str, np.ndarray] = {}
        b10_toa10 = None
        if truth:
            if truth_tmp.exists():
                shutil.rmtree(truth_tmp)
            truth_tmp.mkdir()
        writer = _Writer(workers)
        with rasters.gdal_settings():
            for bi, band in enumerate(BANDS):
                res = NATIVE[band]
                f = res // 10
                rho10 = spectra_arr[scene.landcover, bi] * scene.brightness
                if _VIGOUR[band]:
                    rho10 = np.where(veg, rho10 * (1.0 + np.float32(_VIGOUR[band]) * scene.vigour), rho10)
                rho10 = rho10.astype(np.float32, copy=False)
                cloud_rho = np.float32(CLOUD_REFLECTANCE[bi]) * scene.cloud_brightness
                if terrain is not None:
                    toa10, toa, rho_mean = _relief_band(rf, band, rho10, terrain[1], res, scene,
                                                        cloud_rho)
                else:
                    toa10 = fm.scene_toa(band, rho10, cloud=scene.cloud, cloud_rho=cloud_rho,
                                         shadow=scene.shadow, cirrus=scene.cirrus)
                    if f == 1:
                        toa = toa10
                    else:
                        # a 20/60 m pixel is a uniform surface of its mean reflectance (so that
                        # truth SR + 6S forward model = DN exactly on clear pixels); the effects
                        # of clouds, shadows and cirrus are block-averaged
                        rho_mean = _block_mean(rho10, f)
                        effect = _block_mean(toa10 - fm.scene_toa(band, rho10), f)
                        toa = fm.scene_toa(band, rho_mean) + effect
                if band == "B10":
                    b10_toa10 = toa10
                full = np.zeros(prod.shape(res), dtype=np.uint16)
                win = prod.window(res)
                full[win] = np.clip(np.floor(toa * np.float32(10000.0) + np.float32(0.5)) + offset_dn,
                                    1, 65534).astype(np.uint16)
                full[~valid[res]] = 0
                if band in ("B02", "B03", "B04", "B10"):
                    dn[band] = full
                if truth:
                    writer.submit(_write_sr, truth_tmp / f"SR_{band}.tif", prod,
                                  rho10 if f == 1 else rho_mean, res, valid[res], gt[res], epsg, band)
                del rho10, toa10, toa
                writer.submit(rasters.write_jp2, img / f"{nm.file_prefix}_{band}.jp2", full, gt[res], epsg)
                del full
            _log(quiet, f"bands: {time.time() - t_start:.1f} s")

            # TCI (10 m) and PVI: uint8(clip(rho * 10000, 0, 2500) * 254 / 2500 + 1), 0 = no data.
            tci = np.zeros((3,) + prod.shape(10), dtype=np.uint8)
            for k, band in enumerate(("B04", "B03", "B02")):
                refl = dn[band].astype(np.float32) - offset_dn
                tci[k] = np.floor(np.clip(refl, 0, 2500) * (254.0 / 2500.0) + 1.0).astype(np.uint8)
                tci[k][dn[band] == 0] = 0
            writer.submit(rasters.write_jp2, img / f"{nm.file_prefix}_TCI.jp2", tci, gt[10], epsg, True)
            pvi_n = 343 if size in config.FULL_TILE_SIZES else max(8, int(round(prod.extent_m / 320.0)))
            idx = np.minimum(((np.arange(pvi_n) + 0.5) * prod.n10 / pvi_n).astype(int), prod.n10 - 1)
            pvi = tci[:, idx][:, :, idx]
            pvi_res = prod.extent_m / pvi_n
            pvi_name = f"{nm.file_prefix}_PVI.jp2"
            writer.submit(rasters.write_jp2, qi / pvi_name, np.ascontiguousarray(pvi),
                          (frame.ulx, pvi_res, 0.0, frame.uly, 0.0, -pvi_res), epsg, True)
            del tci

            # ------------------------------------------------------------------ expected classes
            scl10w = np.array([0] + [LAND_COVERS[c][2] for c in sorted(LAND_COVERS)], dtype=np.uint8)[
                scene.landcover]
            scl10w[b10_toa10 > CIRRUS_SCL_THRESHOLD] = SCL_THIN_CIRRUS
            scl10w[scene.shadow >= 0.5] = SCL_SHADOW
            scl10w[scene.cloud >= 0.25] = SCL_CLOUD_MEDIUM
            scl10w[scene.cloud >= 0.8] = SCL_CLOUD_HIGH
            codes = sorted(set(int(v) for v in np.unique(scl10w)))
            scl = {}
            for res in RESOLUTIONS:
                a = np.zeros(prod.shape(res), dtype=np.uint8)
                a[prod.window(res)] = _block_majority(scl10w, res // 10, codes)
                a[~valid[res]] = 0
                scl[res] = a

            # ------------------------------------------------------------------------- masks
            cloud60 = np.zeros(prod.shape(60), dtype=bool)
            cloud60[prod.window(60)] = _block_mean(scene.cloud, 6) > 0.5
            b10_60 = dn["B10"].astype(np.float32) - offset_dn
            cirrus60 = (b10_60 > CIRRUS_SCL_THRESHOLD * 10000) & ~cloud60 & valid[60]
            snow60 = np.zeros(prod.shape(60), dtype=bool)
            snow60[prod.window(60)] = _block_mean((scene.landcover == 6).astype(np.float32), 6) > 0.5
            snow60 &= ~cloud60 & valid[60]
            cloud60 &= valid[60]
            heading = geo.view.heading_deg
            masks: List[Tuple[str, Optional[int], str]] = []
            rel_qi = f"GRANULE/{nm.granule_dir}/QI_DATA/"
            if nm.has_offset:
                for bi, band in enumerate(BANDS):
                    res = NATIVE[band]
                    writer.submit(_write_detfoo, qi / f"MSK_DETFOO_{band}.jp2", frame, heading, prod, res,
                                  det_width, band, valid[res], gt[res])
                    writer.submit(_write_qualit, qi / f"MSK_QUALIT_{band}.jp2", valid[res], gt[res], epsg)
                    masks.append(("MSK_DETFOO", bi, rel_qi + f"MSK_DETFOO_{band}.jp2"))
                    masks.append(("MSK_QUALIT", bi, rel_qi + f"MSK_QUALIT_{band}.jp2"))
                classi = np.stack([cloud60, cirrus60, snow60]).astype(np.uint8)
                writer.submit(rasters.write_jp2, qi / "MSK_CLASSI_B00.jp2", classi, gt[60], epsg)
                masks.append(("MSK_CLASSI", None, rel_qi + "MSK_CLASSI_B00.jp2"))
            else:
                _write_gml_masks(qi, rel_qi, masks, prod, frame, heading, det_width, valid, cloud60,
                                 cirrus60, gt)
            writer.close()
        _log(quiet, f"rasters written: {time.time() - t_start:.1f} s")

        # ------------------------------------------------------------------------------ AUX data
        footprint, bbox = _footprint(frame, prod.extent_m)
        tile_fp, tile_bbox = _footprint(frame, geometry.TILE_SIZE_M)
        atm = table["atmosphere"]
        _write_aux(aux, nm, tile_bbox, atm, float(table["aerosol_angstrom_b02_b8a"]), sensing)

        # ------------------------------------------------------------------------------ metadata
        srf = json.loads(config.SPECTRAL_RESPONSES.read_text())["units"][spacecraft]["bands"]
        bands_info = [metadata.BandInfo(b, srf[b]["first_nm"], srf[b]["values"],
                                        fm.solar_irradiance[i], -offset_dn) for i, b in enumerate(BANDS)]
        n_valid60 = max(1, int(valid[60].sum()))
        cloud_pct = 100.0 * float((cloud60 | cirrus60).sum()) / n_valid60
        snow_pct = 100.0 * float(snow60.sum()) / n_valid60
        tile_info = metadata.TileInfo(epsg, frame.cs_name, frame.ulx, frame.uly,
                                      {r: prod.shape(r) for r in RESOLUTIONS})
        metadata.write_tile_metadata(granule / "MTD_TL.xml", nm, tile_info, geo, masks, rel_qi + pvi_name,
                                     cloud_pct, snow_pct)
        metadata.write_product_metadata(tmp / "MTD_MSIL1C.xml", nm, bands_info, u, footprint, cloud_pct,
                                        snow_pct)
        metadata.write_datastrip_metadata(ds_dir / "MTD_DS.xml", nm, bands_info, u, geo)
        for check in ("FORMAT_CORRECTNESS", "GENERAL_QUALITY", "GEOMETRIC_QUALITY", "SENSOR_QUALITY"):
            metadata.write_qi_report(qi / f"{check}.xml", check, "tile", nm)
        for check in ("FORMAT_CORRECTNESS", "GENERAL_QUALITY", "GEOMETRIC_QUALITY",
                      "RADIOMETRIC_QUALITY", "SENSOR_QUALITY"):
            metadata.write_qi_report(ds_dir / "QI_DATA" / f"{check}.xml", check, "datastrip", nm)
        metadata.write_inspire(tmp / "INSPIRE.xml", nm, bbox)
        metadata.write_html(tmp / "HTML", nm)
        metadata.write_rep_info(tmp / "rep_info")
        metadata.write_manifest(tmp, nm, footprint)

        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    except BaseException:
        if writer is not None:
            writer.pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(truth_tmp, ignore_errors=True)
        raise

    _log(quiet, f"product: {time.time() - t_start:.1f} s")

    if zip_product:
        _write_zip(final, output_dir / (nm.product_name[:-5] + ".zip"), generation)
    dem_info = None
    if terrain is not None:
        dem_info = _write_dem(dem_file_for(final), terrain[0], prod, frame)
    if truth:
        params = dict(size=size, baseline=baseline, spacecraft=spacecraft, seed=int(seed), tile=tile,
                      date=date or tgeo["date"], zip=bool(zip_product))
        if atmosphere != "default":
            params["atmosphere"] = atmosphere
        if terrain is not None:
            params["relief"] = relief
        if layout != "patches":
            params["layout"] = layout
        _write_truth(truth_tmp, final, nm, prod, frame, scene, scl, valid, gt, fm, table,
                     geo, matches, notes, params, offset_dn,
                     None if terrain is None else (terrain, dem_info, rf, relief))
    _log(quiet, f"done: {time.time() - t_start:.1f} s")
    return final


def atmosphere_table(name: str = "default") -> dict:
    """The forward table of a selectable atmosphere in the layout of sixs_forward.json."""
    if name == "default":
        return load_table()
    config.atmosphere_parameters(name)                       # validates the name
    extra = load_table(str(config.ATMOSPHERES_TABLE))
    if name not in extra["atmospheres"]:
        raise ValueError(f"atmosphere {name!r} is missing from {config.ATMOSPHERES_TABLE.name}; "
                         "run tools/build_sixs_forward_table.py --atmospheres")
    a = extra["atmospheres"][name]
    return {"atmosphere": a["atmosphere"], "geometry": a["geometry"], "units": a["units"],
            "aerosol_angstrom_b02_b8a": a["aerosol_angstrom_b02_b8a"], "sixs": extra["sixs"],
            "runs": extra["runs"], "name": name,
            "file": "tools/sample_product/data/" + config.ATMOSPHERES_TABLE.name}


# ---------------------------------------------------------------------------------- helpers
def _relief_layers(seed: int, size: str, prod: "_Product", tgeo: dict, relief: str = "mountain"
                   ) -> Tuple[Relief, Dict[int, TerrainLayers]]:
    """The relief (own random stream: the scene does not change) and its layers on the data
    window of every grid, for the table's sun angles."""
    rng = np.random.default_rng([int(seed), list(config.SIZES).index(size), 7])
    rel = (make_alpine_relief if relief == "alpine" else make_relief)(rng, prod.extent_m)
    layers = {}
    for res in RESOLUTIONS:
        win = prod.window(res)[0]
        layers[res] = terrain_layers(rel, float(res), win.stop - win.start, win.start,
                                     float(tgeo["sun_zenith"]), float(tgeo["sun_azimuth"]))
    worst = min(float(lay.cos_beta.min()) for lay in layers.values())
    if worst <= 0.0:
        raise ValueError(f"the relief has self-shadowed pixels (cos beta {worst:.3f}), which the "
                         "forward model does not handle")
    return rel, layers


def _relief_band(rf: ReliefForward, band: str, rho10: np.ndarray, layers: Dict[int, TerrainLayers],
                 res: int, scene, cloud_rho):
    """(TOA at 10 m, TOA at the band's grid, block-mean reflectance or None) over the relief.

    As on flat ground, a 20/60 m pixel is a uniform surface of its mean reflectance - here a
    tilted facet with the slope, elevation and sky view at its centre - plus the block mean of the
    cloud/shadow/cirrus effects computed at 10 m."""
    l10 = layers[10]
    z10 = l10.elevation / 1000.0
    rt10 = terrain_reflectance(rho10, l10.sky_view, 10.0)
    toa10 = rf.toa(band, rho10, z10, l10.ratio, l10.sky_view, rt10, shadow=scene.shadow,
                   cloud=scene.cloud, cloud_rho=cloud_rho, cirrus=scene.cirrus)
    if res == 10:
        return toa10, toa10, None
    f = res // 10
    effect = _block_mean(toa10 - rf.toa(band, rho10, z10, l10.ratio, l10.sky_view, rt10), f)
    rho_mean = _block_mean(rho10, f)
    lc = layers[res]
    toa = rf.toa(band, rho_mean, lc.elevation / 1000.0, lc.ratio, lc.sky_view,
                 terrain_reflectance(rho_mean, lc.sky_view, float(res))) + effect
    return toa10, toa, rho_mean


def dem_file_for(safe: Path) -> Path:
    """The DEM GeoTIFF written beside a product generated with a relief (DEM_Directory value)."""
    return safe.parent / (safe.name[:-5] + "_DEM.tif")


def _write_dem(path: Path, rel: Relief, prod: "_Product", frame) -> dict:
    """The relief on a DEM_FILE_RESOLUTION grid aligned with the tile, MARGIN_M beyond the product
    (float32 metres, EPSG of the tile): what the DEM reader warps onto the tile grids."""
    res = DEM_FILE_RESOLUTION
    n = int(round((prod.extent_m + 2 * MARGIN_M) / res))
    z, _, _ = rel.grid(res, n, -int(round(MARGIN_M / res)))
    gt = (frame.ulx - MARGIN_M, res, 0.0, frame.uly + MARGIN_M, 0.0, -res)
    tmp = path.with_name(path.name + ".part")
    with rasters.gdal_settings():
        rasters.write_geotiff(tmp, z.astype(np.float32), gt, frame.epsg,
                              description="elevation (m) of the synthetic relief")
    tmp.replace(path)
    return {"file": path.name, "resolution_m": res, "size_px": [n, n], "geotransform": list(gt),
            "epsg": frame.epsg, "margin_m": MARGIN_M}


def _footprint(frame, extent_m: float):
    """Corner ring UL, UR, LR, LL, UL as (lat, lon) and the (W, E, S, N) box."""
    xs = [frame.ulx, frame.ulx + extent_m, frame.ulx + extent_m, frame.ulx, frame.ulx]
    ys = [frame.uly, frame.uly, frame.uly - extent_m, frame.uly - extent_m, frame.uly]
    lon, lat = frame.lonlat(np.array(xs), np.array(ys))
    ring = [(round(float(la), 12), round(float(lo), 12)) for la, lo in zip(lat, lon)]
    return ring, (float(lon.min()), float(lon.max()), float(lat.min()), float(lat.max()))


def _write_aux(aux: Path, nm, bbox, atm, angstrom: float, sensing: datetime) -> None:
    step = 0.125
    west = math.floor(bbox[0] / step) * step - step
    east = math.ceil(bbox[1] / step) * step + step
    south = math.floor(bbox[2] / step) * step - step
    north = math.ceil(bbox[3] / step) * step + step
    ni = int(round((east - west) / step)) + 1
    nj = int(round((north - south) / step)) + 1
    ref = datetime(sensing.year, sensing.month, sensing.day)
    ones = np.ones((nj, ni))
    tcwv = atm["water_vapour_g_cm2"] * 10.0                       # kg m-2
    tco3 = atm["ozone_cm_atm"] * 1000.0 * 6.428e-3 / 300.0          # kg m-2 (Sen2Cor's constant)
    msgs = [
        rasters.grib1_message(ones * tcwv, 128, 137, north, west, step, ref, 3),
        rasters.grib1_message(ones * atm["sea_level_pressure_pa"], 128, 151, north, west, step, ref, 0),
        rasters.grib1_message(ones * tco3, 128, 206, north, west, step, ref, 8),
    ]
    (aux / "AUX_ECMWFT").write_bytes(b"".join(msgs))
    if nm.has_offset:
        aot = atm["aot550"]
        fields = [(wl, ones * round(aot * (wl / 550.0) ** (-angstrom), 4))
                  for wl in (550, 469, 670, 865, 1240)]
        with rasters.gdal_settings():
            rasters.write_grib2_aod(aux / "AUX_CAMSFO", fields, north, west, step, ref)


def _write_gml_masks(qi, rel_qi, masks, prod, frame, heading, det_width, valid, cloud60, cirrus60, gt):
    extent = (frame.ulx, frame.uly - prod.extent_m, frame.ulx + prod.extent_m, frame.uly)
    epsg = frame.epsg
    feats = []
    for i, (_, rings) in enumerate(rasters.polygons_from_mask(cloud60.astype(np.uint8), gt[60], [1])):
        feats.append((f"OPAQUE.{i}", "OPAQUE", rings))
    for i, (_, rings) in enumerate(rasters.polygons_from_mask(cirrus60.astype(np.uint8), gt[60], [1])):
        feats.append((f"CIRRUS.{i}", "CIRRUS", rings))
    rasters.write_gml_mask(qi / "MSK_CLOUDS_B00.gml", "Clouds", epsg, extent, feats)
    nodata_polys = rasters.polygons_from_mask((~valid[60]).astype(np.uint8), gt[60], [1])
    for bi, band in enumerate(BANDS):
        det = geometry.detector_raster(frame, heading, *prod.shape(60), 60, det_width, band, prod.extent_m)
        det[~valid[60]] = 0
        feats = [(f"detector_footprint-{band}-{v:02d}-{i}", "DETECTOR_FOOTPRINT", rings)
                 for i, (v, rings) in enumerate(rasters.polygons_from_mask(det, gt[60]))]
        for mtype, fts in (("DETFOO", feats),
                           ("NODATA", [(f"nodata-{band}-{i}", "QT_NODATA_PIXELS", r)
                                       for i, (_, r) in enumerate(nodata_polys)]),
                           ("DEFECT", []), ("SATURA", []), ("TECQUA", [])):
            name = f"MSK_{mtype}_{band}.gml"
            rasters.write_gml_mask(qi / name, f"{mtype}_{band}", epsg, extent, fts)
            masks.append((f"MSK_{mtype}", bi, rel_qi + name))
    masks.sort(key=lambda m: (m[1] if m[1] is not None else 99, m[0]))
    masks.append(("MSK_CLOUDS", None, rel_qi + "MSK_CLOUDS_B00.gml"))


def _write_zip(safe: Path, target: Path, when: datetime) -> None:
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    tmp = target.with_name(target.name + ".part")
    with zipfile.ZipFile(tmp, "w") as zf:
        entries = sorted(p for p in safe.rglob("*"))
        for p in entries:
            arc = f"{safe.name}/{p.relative_to(safe).as_posix()}" + ("/" if p.is_dir() else "")
            info = zipfile.ZipInfo(arc, date_time=stamp)
            info.external_attr = (0o40755 << 16) | 0x10 if p.is_dir() else 0o100644 << 16
            if p.is_dir():
                zf.writestr(info, b"")
            else:
                info.compress_type = zipfile.ZIP_STORED if p.suffix == ".jp2" else zipfile.ZIP_DEFLATED
                zf.writestr(info, p.read_bytes())
    tmp.replace(target)


def truth_dir_for(safe: Path) -> Path:
    """The truth folder that belongs to a generated .SAFE."""
    return safe.parent / (safe.name[:-5] + ".truth")


def _write_sr(path, prod, window_values, res, valid, gt, epsg, band) -> None:
    srf = np.full(prod.shape(res), np.nan, dtype=np.float32)
    srf[prod.window(res)] = window_values
    srf[~valid] = np.nan
    rasters.write_geotiff(path, srf, gt, epsg, nodata=float("nan"),
                          description=f"surface reflectance {band}")


def _write_detfoo(path, frame, heading, prod, res, det_width, band, valid, gt) -> None:
    det = geometry.detector_raster(frame, heading, *prod.shape(res), res, det_width, band,
                                   prod.extent_m)
    det[~valid] = 0
    rasters.write_jp2(path, det, gt, frame.epsg)


def _write_qualit(path, valid, gt, epsg) -> None:
    qual = np.zeros((8,) + valid.shape, dtype=np.uint8)
    qual[5] = ~valid                                     # band 6: QT_NODATA_PIXELS
    rasters.write_jp2(path, qual, gt, epsg)


def _write_truth(tmp, safe, nm, prod, frame, scene, scl, valid, gt, fm, table,
                 geo, matches, notes, params, offset_dn, relief=None) -> None:
    final = truth_dir_for(safe)
    epsg = frame.epsg
    files = {}
    for band in BANDS:
        files[f"SR_{band}.tif"] = (f"surface reflectance of {band} at {NATIVE[band]} m "
                                   "(float32, NaN = no data)")
    with rasters.gdal_settings():
        full = lambda a, dtype, fill: _embed(prod, a, dtype, fill)  # noqa: E731
        lc = full(scene.landcover, np.uint8, 0)
        lc[~valid[10]] = 0
        rasters.write_geotiff(tmp / "LANDCOVER_10m.tif", lc, gt[10], epsg, nodata=0)
        files["LANDCOVER_10m.tif"] = "land-cover code at 10 m (see land_covers; 0 = no data)"
        for res in (10, 20, 60):
            rasters.write_geotiff(tmp / f"SCL_{res}m.tif", scl[res], gt[res], epsg, nodata=0)
            files[f"SCL_{res}m.tif"] = (f"expected scene classification at {res} m (Sen2Cor codes; "
                                        "majority of the 10 m classes for 20/60 m)")
        for name, arr, desc in (("CLOUD_FRACTION_10m.tif", scene.cloud, "thick-cloud fraction 0..1"),
                                ("CLOUD_SHADOW_10m.tif", scene.shadow, "cloud-shadow strength 0..1 (share of direct sunlight removed)"),
                                ("CIRRUS_10m.tif", scene.cirrus, "thin-cirrus TOA reflectance added in B10 (x factor per band)")):
            a = full(arr, np.float32, 0.0)
            rasters.write_geotiff(tmp / name, a, gt[10], epsg)
            files[name] = desc + " at 10 m"
        if relief is not None:
            files.update(_write_relief_truth(tmp, prod, relief[0][1], valid, gt, epsg))

    atm = table["atmosphere"]
    targets = []
    for t in scene.targets:
        rec = {"name": t["name"], "land_cover_code": t["code"], "expected_scl": t["scl"], "pixels": {}}
        for res in (10, 20, 60):
            f = res // 10
            r0 = (prod.off + t["row"]) // f
            c0 = (prod.off + t["col"]) // f
            n = t["size"] // f
            rec["pixels"][f"{res}m"] = {"row": r0, "col": c0, "rows": n, "cols": n}
        rec["bands"] = {}
        for bi, band in enumerate(BANDS):
            rho = SURFACE_REFLECTANCE[t["name"]][bi]
            toa = float(fm.toa(band, rho))
            check = fm.unit["bands"][band]["checks"][t["name"]]
            rec["bands"][band] = {
                "surface_reflectance": rho,
                "toa_forward_model": round(toa, 8),
                "toa_sixs_direct": check["sixs_apparent_reflectance"],
                "dn": int(min(65534, max(1, math.floor(toa * 10000 + 0.5) + offset_dn))),
            }
        targets.append(rec)
    doc = {
        "description": "Truth of a synthetic Sentinel-2 L1C product made by tools/make_sample_product.py "
                       "(sen2cor_qgis). Rasters share the product's grids (EPSG, geotransforms).",
        "product": safe.name,
        "parameters": params,
        "dn_formula": f"DN = floor(rho_TOA * 10000 + 0.5) + {offset_dn}, clipped to 1..65534; 0 = NODATA; "
                      "rho_TOA = (DN + RADIO_ADD_OFFSET) / 10000",
        "radio_add_offset": -offset_dn,
        "atmosphere": {
            "aot550": atm["aot550"],
            "aerosol_model_6s": atm["aerosol_model"],
            "water_vapour_g_cm2": atm["water_vapour_g_cm2"],
            "water_vapour_kg_m2": atm["water_vapour_g_cm2"] * 10.0,
            "ozone_du": round(atm["ozone_cm_atm"] * 1000.0, 6),
            "ozone_cm_atm": atm["ozone_cm_atm"],
            "surface_altitude_km": atm["target_altitude_km"],
            "cloud_top_altitude_km_6s": atm["cloud_top_altitude_km"],
            "sea_level_pressure_pa": atm["sea_level_pressure_pa"],
            "aux_ecmwft": "uniform fields: TCWV kg m-2, MSL Pa, TCO3 kg m-2 (DU = value / 6.428e-3 * 300)",
            "aux_camsfo": "uniform AOD fields at 550, 469, 670, 865, 1240 nm (Angstrom exponent "
                          f"{table['aerosol_angstrom_b02_b8a']} of the 6S model)",
        },
        "geometry": {
            "atmosphere_geometry": {k: table["geometry"][k] for k in ("tile", "sensing_time",
                                                                       "sun_zenith", "sun_azimuth", "view")},
            "metadata_mean_sun": [geo.mean_sun_zenith, geo.mean_sun_azimuth],
            "metadata_mean_view": geo.mean_view,
            "metadata_matches_atmosphere": bool(matches),
        },
        "sixs_table": {"file": table.get("file", "tools/sample_product/data/sixs_forward.json"),
                       "program": table["sixs"]["program"], "runs": table["runs"]},
        "land_covers": {str(code): {"name": name, "description": desc, "expected_scl": scl_code,
                                    "surface_reflectance": dict(zip(BANDS, SURFACE_REFLECTANCE[name]))}
                        for code, (name, desc, scl_code) in LAND_COVERS.items()},
        "cloud_reflectance": dict(zip(BANDS, CLOUD_REFLECTANCE)),
        "scl_rules": "0 no data; cloud fraction >= 0.8 -> 9, >= 0.25 -> 8; else shadow >= 0.5 -> 3; "
                     f"else B10 TOA > {CIRRUS_SCL_THRESHOLD} -> 10; else the land cover's class "
                     "(vegetation 4, not vegetated 5, water 6, snow 11)",
        "targets": targets,
        "clouds": scene.clouds,
        "data_window_10m": {"row": prod.off, "col": prod.off, "size": prod.m},
        "approximations": [
            "no adjacency effect: each pixel is computed as a uniform Lambertian surface",
            ("flat terrain at sea level" if not atm["target_altitude_km"] else
             f"flat terrain at {atm['target_altitude_km']} km")
            + "; one atmosphere and one (mean) geometry for the whole product",
            "cloud shadow removes the direct part exp(-tau/cos SZA) of T_down"
            + ("" if relief is None else " (over the relief: b = 1 - shadow in D, see relief)"),
            "thick clouds: Lambertian target at the 6S cloud-top altitude, mixed by cloud fraction",
            "thin cirrus: empirical additive TOA reflectance (not 6S)",
            "20 m and 60 m pixels: 6S forward model of the block-mean surface reflectance (uniform "
            "pixel) plus the block mean of the cloud/shadow/cirrus effects computed at 10 m",
        ] + notes,
        "files": files,
    }
    if relief is not None:
        doc["relief"] = _relief_truth(*relief, prod)
        levels = [f"{z:g}" for z in relief[2].levels_km]
        doc["approximations"][1] = ("relief (see relief): terms interpolated linearly in elevation "
                                    f"between 6S runs at {', '.join(levels[:-1])} and {levels[-1]} km; "
                                    "one (mean) geometry for the whole product")
        doc["approximations"].append(
            "relief: Lambertian terrain model of reference §6.7 (direct x cos(beta)/cos(SZA), "
            "circumsolar part with the direct, isotropic sky x V, terrain reflection (1 - V) rho_t); "
            "no horizon shading of the sky, no cast or self shadow (cos beta > 0 everywhere); "
            "the cloud-shadow offset ignores the relief")
    (tmp / "truth.json").write_text(json.dumps(doc, indent=1) + "\n")
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)


def _write_relief_truth(tmp, prod, layers, valid, gt, epsg) -> Dict[str, str]:
    """DEM, slope, aspect, sky view at 10 m and cos(beta) on every grid (float32, NaN = no data)."""
    files = {}
    items = [(10, "DEM", "elevation", "ground elevation (m)"),
             (10, "SLOPE", "slope", "slope (degrees, analytic gradient)"),
             (10, "ASPECT", "aspect", "aspect (degrees clockwise from north of the downslope direction)"),
             (10, "SKY_VIEW", "sky_view", "sky-view factor (1 + cos slope) / 2")]
    items += [(res, "COS_BETA", "cos_beta", "cos(beta), the local illumination (table sun angles)")
              for res in RESOLUTIONS]
    for res, stem, attr, desc in items:
        a = np.full(prod.shape(res), np.nan, dtype=np.float32)
        a[prod.window(res)] = getattr(layers[res], attr)
        a[~valid[res]] = np.nan
        name = f"{stem}_{res}m.tif"
        rasters.write_geotiff(tmp / name, a, gt[res], epsg, nodata=float("nan"), description=desc)
        files[name] = f"{desc} at {res} m (float32, NaN = no data)"
    return files


def _relief_truth(terrain, dem_info, rf: ReliefForward, name: str, prod) -> dict:
    rel, layers = terrain
    l10 = layers[10]
    out = {
        "name": name,
        "dem_file": dem_info,
        "dem_use": "DEM_Directory = the DEM file (a single GeoTIFF in the tile's CRS is a USER DEM)",
        "elevation_m": [round(float(l10.elevation.min()), 3), round(float(l10.elevation.max()), 3)],
        "slope_deg_max": round(float(l10.slope.max()), 3),
        "slope_deg_mean": round(float(l10.slope.mean()), 3),
        "cos_beta": [round(float(l10.cos_beta.min()), 5), round(float(l10.cos_beta.max()), 5)],
        "surface": "z = base + scale * sum_j A_j exp(-(u_j^2 / 2 a_j^2 + v_j^2 / 2 b_j^2)), east/south "
                   "metres from the product's upper-left corner, u_j along the feature (angle from "
                   "east towards south), exact gradient (tools/sample_product/relief.py)",
        "base_m": rel.base, "scale": rel.scale, "features": rel.as_list(),
        "model": "rho_TOA = path(z) + T_g(z) T_up(z) D rho / (1 - S(z) rho), D = T_sun b r "
                 "+ T_dif (b T_sun r + (1 - b T_sun) V) + T_down (1 - V) rho_t; r = cos(beta)/cos(SZA); V = (1 + cos "
                 "slope)/2; rho_t = rho_bar / (1 - (1 - V_bar) rho_bar) with box means over 1 km "
                 "of the band's surface reflectance and V; b = 1 - cloud-shadow strength; T_sun = "
                 "exp(-tau/cos SZA); terms at the pixel's elevation z",
        "cos_beta_formula": "cos(SZA) cos(slope) + sin(SZA) sin(slope) cos(SAA - aspect), table sun angles",
        "surface_reflectance": "SR_<band>.tif is the Lambertian reflectance of the tilted ground "
                               "(what a terrain correction should return), unchanged by the relief",
        "pixels_20m_60m": "a 20/60 m pixel is a tilted uniform facet with the slope, aspect, sky view "
                          "and elevation at its centre (COS_BETA_20m/60m) and the block-mean reflectance",
        "sixs_relief_table": {"file": "tools/sample_product/data/" + config.RELIEF_TABLE.name,
                              "levels_km": [0.0] + [float(z) for z in rf.levels_km[1:-1]]
                              + [float(rf.levels_km[-1])],
                              "interpolation": "linear in elevation"},
    }
    if name == "alpine":                         # ("mountain" keeps its original truth.json)
        out["design"] = ("alternating ridges and valleys (crests north-west to south-east, "
                         f"{ALPINE_SPACING_M:.0f} m apart across, a ridge through the product's "
                         "upper-right corner, a valley through its lower-left one) with spurs and "
                         "gullies down the flanks; DEM file inside "
                         f"{ALPINE_ELEVATION_RANGE_M[0]:g}-{ALPINE_ELEVATION_RANGE_M[1]:g} m, slope "
                         f"inside the product below {ALPINE_MAX_SLOPE_DEG:g} deg "
                         "(tools/sample_product/relief.py make_alpine_relief)")
        inner = layers[20]
        out["product_elevation_range_m"] = round(float(l10.elevation.max() - l10.elevation.min()), 3)
        out["cos_beta_20m_share_above_cos_sza"] = round(
            float(np.mean(inner.cos_beta > math.cos(math.radians(rf.fm.sun_zenith)))), 4)
    return out


def _embed(prod, a, dtype, fill):
    out = np.full(prod.shape(10), fill, dtype=dtype)
    out[prod.window(10)] = a
    return out
