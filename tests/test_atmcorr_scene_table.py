"""The 6S scene table of the atmospheric-correction tests (tests/data/atmcorr/sixs_scene_table.json)
and its interpolating provider (core.atmcorr.SceneTableProvider)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from sen2cor_qgis.core.atmcorr import (SceneTableProvider, TermsProvider, relative_azimuth,
                                       surface_from_toa, toa_from_surface)
from sen2cor_qgis.tools.sample_product import config as sp_config

REPO = Path(__file__).resolve().parents[1]
TABLE_PATH = REPO / "tests" / "data" / "atmcorr" / "sixs_scene_table.json"
FORWARD = REPO / "tools" / "sample_product" / "data" / "sixs_forward.json"
ATMOSPHERES = REPO / "tools" / "sample_product" / "data" / "sixs_atmospheres.json"


@pytest.fixture(scope="module")
def table():
    return json.loads(TABLE_PATH.read_text())


@pytest.fixture(scope="module")
def provider(table):
    return SceneTableProvider(table)


def _terms(p, band, geo, aot, wv, z=0.0):
    vz, va = geo["view"][band]
    return p.terms(band, aot, geo["sun_zenith"], vz, relative_azimuth(geo["sun_azimuth"], va), z, wv, 360.0)


def test_table_records_its_inputs(table):
    inp = table["inputs"]
    assert inp["unit"] == "S2B" and inp["aerosol_model"] == "Continental"
    assert {"aot550_nodes", "water_vapour_nodes_g_cm2", "ozone_cm_atm", "water_vapour_convention"} <= set(inp)
    assert table["sixs"]["program"] and table["spectral_responses"]["sha256"]
    for scene in table["scenes"]:
        assert set(scene["bands"]) == {b for b in sp_config_bands() if b != "B10"}
        for terms in scene["bands"].values():
            assert np.shape(terms["path"]) == (len(inp["aot550_nodes"]), len(inp["water_vapour_nodes_g_cm2"]))


def sp_config_bands():
    from sen2cor_qgis.tools.sample_product.spectra import BANDS
    return BANDS


def test_every_test_scene_is_in_the_table(provider):
    """Each selectable atmosphere of the generator has its (sun zenith, altitude) in the table."""
    fwd = json.loads(FORWARD.read_text())
    extra = json.loads(ATMOSPHERES.read_text())["atmospheres"] if ATMOSPHERES.exists() else {}
    for name in sp_config.ATMOSPHERES:
        geo = fwd["geometry"] if name == "default" else extra[name]["geometry"]
        alt = sp_config.atmosphere_parameters(name)["target_altitude_km"]
        g = provider.geometry_of(geo["sun_zenith"])
        assert abs(g["sun_zenith"] - geo["sun_zenith"]) < 1e-3, name
        assert alt in list(g["elevations"]), name


def test_nodes_reproduce_the_generators_6s_runs(provider, table):
    """At its nodes the table holds the very 6S runs of the generator's forward tables; off the
    nodes (wv0.5: 0.5 g cm-2 between 0.3 and 0.6) the interpolated terms invert the direct 6S
    runs to 2e-4 (B09: 1e-3)."""
    aot_nodes = table["inputs"]["aot550_nodes"]
    wv_nodes = table["inputs"]["water_vapour_nodes_g_cm2"]
    fwd = json.loads(FORWARD.read_text())
    cases = [("default", fwd["geometry"], fwd["atmosphere"], fwd["units"]["S2B"]["bands"])]
    if ATMOSPHERES.exists():
        for name, a in json.loads(ATMOSPHERES.read_text())["atmospheres"].items():
            cases.append((name, a["geometry"], a["atmosphere"], a["units"]["S2B"]["bands"]))
    for name, geo, atm, bands in cases:
        for band, rec in bands.items():
            if band == "B10":
                continue
            t = _terms(provider, band, geo, atm["aot550"], atm["water_vapour_g_cm2"], atm["target_altitude_km"])
            c = rec["surface"]
            on_nodes = atm["aot550"] in aot_nodes and atm["water_vapour_g_cm2"] in wv_nodes
            if on_nodes:
                assert float(t.path_reflectance) == pytest.approx(c["path"], abs=2e-7), (name, band)
                assert float(t.total_transmittance) == pytest.approx(c["t_gas"] * c["t_down"] * c["t_up"],
                                                                     rel=2e-5), (name, band)
                assert float(t.spherical_albedo) == pytest.approx(c["s_albedo"], abs=1e-6)
            limit = 5e-5 if on_nodes else (1e-3 if band == "B09" else 2e-4)
            for chk in rec["checks"].values():            # direct 6S runs at the land covers' rho
                if chk["level"] == "surface" and chk["rho"] < 0.5:
                    rho = float(surface_from_toa(t, chk["sixs_apparent_reflectance"]))
                    assert rho == pytest.approx(chk["rho"], abs=limit), (name, band)


def _drop(table, axis, idx):
    t2 = copy.deepcopy(table)
    key = {"aot": "aot550_nodes", "wv": "water_vapour_nodes_g_cm2"}[axis]
    t2["inputs"][key].pop(idx)
    for scene in t2["scenes"]:
        for terms in scene["bands"].values():
            for k, arr in terms.items():
                terms[k] = np.delete(np.array(arr), idx, axis=0 if axis == "aot" else 1).tolist()
    return SceneTableProvider(t2)


@pytest.mark.parametrize("axis, idx", [("aot", 3), ("aot", 6), ("wv", 2), ("wv", 4), ("wv", 6)])
def test_leave_one_out_interpolation_error(table, provider, axis, idx):
    """A node removed (node spacing doubled: the error of the real spacing is about 4 times
    smaller) is interpolated from its neighbours: surface reflectance error < 1.5e-3 (B09, in the
    water-vapour axis: < 2e-3)."""
    thin = _drop(table, axis, idx)
    aot = table["inputs"]["aot550_nodes"][idx] if axis == "aot" else 0.15
    wv = table["inputs"]["water_vapour_nodes_g_cm2"][idx] if axis == "wv" else 1.5
    rho = np.array([0.02, 0.1, 0.3], dtype=np.float32)
    for scene in table["scenes"]:
        geo = {"sun_zenith": scene["sun_zenith"], "sun_azimuth": scene["sun_azimuth"], "view": scene["view"]}
        for band in scene["bands"]:
            exact = _terms(provider, band, geo, aot, wv, scene["elevation_km"])
            approx = _terms(thin, band, geo, aot, wv, scene["elevation_km"])
            err = np.abs(surface_from_toa(approx, toa_from_surface(exact, rho)) - rho).max()
            limit = 2e-3 if (band == "B09" and axis == "wv") else 1.5e-3
            assert err < limit, (axis, idx, band, scene["sun_zenith"], float(err))


def test_guards_and_protocol(provider, table):
    assert isinstance(provider, TermsProvider)
    geo = table["scenes"][0]
    vz, va = geo["view"]["B04"]
    with pytest.raises(ValueError):
        provider.terms("B04", 0.1, geo["sun_zenith"] + 5.0 if geo["sun_zenith"] < 50 else 10.0, vz,
                       relative_azimuth(geo["sun_azimuth"], va), 0.0, 1.5, 360)
    with pytest.raises(ValueError):
        provider.terms("B04", 0.1, geo["sun_zenith"], vz + 3.0, relative_azimuth(geo["sun_azimuth"], va),
                       0.0, 1.5, 360)
    t = provider.terms("B04", np.array([0.0, 0.1, 5.0]), geo["sun_zenith"], vz,
                       relative_azimuth(geo["sun_azimuth"], va), 0.0, 1.5, 360)
    assert t.path_reflectance.shape == (3,) and t.path_reflectance.dtype == np.float32
    assert t.path_reflectance[2] == pytest.approx(float(provider.terms(
        "B04", provider.aot550_range[1], geo["sun_zenith"], vz, relative_azimuth(geo["sun_azimuth"], va),
        0.0, 1.5, 360).path_reflectance))                  # clamped to the node range
    assert 0 < float(t.t_down_direct[1]) < float(t.t_down[1]) < 1


def test_elevation_axis_between_scenes(provider, table):
    """Where a geometry has 0 and 1.5 km, intermediate elevations lie between the two."""
    for g in provider._geo:
        if len(g["elevations"]) < 2:
            continue
        geo = {"sun_zenith": g["sun_zenith"], "sun_azimuth": g["sun_azimuth"],
               "view": {b: list(v) for b, v in g["view"].items()}}
        p0, p1, pm = (float(_terms(provider, "B02", geo, 0.15, 2.0, z).path_reflectance) for z in (0.0, 1.5, 0.75))
        assert p1 < pm < p0
        return
    pytest.skip("no geometry with two elevations in this table")
