"""Fast unit tests of the 6S look-up-table package (core/atmcorr/lut): the interpolation machinery
on analytic functions, the spectral integration, the partial-coverage box, the loader on a
synthetic table file, visibility <-> AOT550 (reference §6.3) and the inversion round trip.
Accuracy against 6S itself is tests/test_lut_accuracy.py."""
from __future__ import annotations

import math

import numpy as np
import pytest

from sen2cor_qgis.core.atmcorr.lut import (AtmosphereLUT, AtmosphericTerms, LUTNotAvailableError,
                                           aot550_to_visibility, resample_response,
                                           surface_from_toa, toa_from_surface,
                                           visibility_to_aot550)
from sen2cor_qgis.core.atmcorr.lut import grid as G
from sen2cor_qgis.core.atmcorr.lut import table as T
from sen2cor_qgis.core.atmcorr.lut.interp import SplineAxis, TableInterpolator, contract
from sen2cor_qgis.core.atmcorr.lut.ripple import (PathInterpolator, fit_phase_ripple,
                                                  scattering_angle, single_scattering_weight)


# ------------------------------------------------------------------------------- interpolation
def test_spline_axis_reproduces_cubics_and_nodes():
    ax = SplineAxis([0.0, 0.3, 1.0, 1.7, 2.5, 4.0])
    f = lambda x: 0.2 - 1.3 * x + 0.7 * x ** 2 - 0.11 * x ** 3   # noqa: E731
    x = np.linspace(0.0, 4.0, 57)
    w = ax.weights(x)
    assert w.shape == (57, 6)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-12)     # partition of unity
    np.testing.assert_allclose(w @ f(ax.values), f(x), atol=1e-12)  # not-a-knot: exact on cubics
    np.testing.assert_allclose(ax.weights(ax.values), np.eye(6), atol=1e-12)


def test_spline_axis_clamps_and_single_node():
    ax = SplineAxis([1.0, 2.0, 3.0])
    np.testing.assert_allclose(ax.weights([-5.0, 9.0]) @ np.array([1.0, 4.0, 9.0]), [1.0, 9.0])
    one = SplineAxis([0.5])
    assert one.weights([0.0, 3.0]).tolist() == [[1.0], [1.0]]


def test_even_boundary_zero_slope():
    ax = SplineAxis([0.0, 45.0, 90.0, 135.0, 180.0], bc="even")
    g = lambda x: np.cos(np.radians(x)) + 0.3 * np.cos(2 * np.radians(x))   # noqa: E731
    x = np.linspace(0, 180, 181)
    err = np.max(np.abs(ax.weights(x) @ g(ax.values) - g(x)))
    assert err < 0.01
    eps = 1e-4
    for end in (0.0, 180.0):
        lo = np.clip(end - eps, 0, 180)
        hi = np.clip(end + eps, 0, 180)
        slope = (ax.weights([hi]) - ax.weights([lo])) @ g(ax.values) / (hi - lo)
        assert abs(slope[0]) < 1e-6         # one-sided difference: O(eps) curvature term


def test_transformed_axis():
    ax = SplineAxis([0.0, 0.5, 1.0, 2.0, 4.0, 6.0], transform=np.sqrt)
    f = lambda u: np.exp(-0.4 * np.sqrt(u))   # noqa: E731  (water-vapour-like)
    u = np.linspace(0, 6, 61)
    assert np.max(np.abs(ax.weights(u) @ f(ax.values) - f(u))) < 2e-4


def test_contract_multidimensional_analytic():
    axes = [SplineAxis(np.linspace(0, 1.2, 7)), SplineAxis(np.arange(0, 71, 10.0)),
            SplineAxis([0.0, 6.0, 12.0]), SplineAxis([0.0, 0.75, 1.5, 2.5, 3.5])]

    def f(a, s, v, z):
        return (0.05 + 0.1 * a - 0.02 * a ** 2 + 1e-3 * a ** 3) * (1 + 1e-4 * s ** 2) \
            * (1 + 2e-3 * v - 1e-4 * v * v) * np.exp(-0.12 * z)

    table = f(*np.meshgrid(*[ax.values for ax in axes], indexing="ij"))
    rng = np.random.default_rng(1)
    pts = [rng.uniform(0, 1.2, 3000), rng.uniform(0, 70, 3000), rng.uniform(0, 12, 3000),
           rng.uniform(0, 3.5, 3000)]
    got = contract(table, axes, pts)
    rel = np.abs(got / f(*pts) - 1)
    assert rel.max() < 2e-4
    # exact where the function is a polynomial of degree <= 3 in each variable (a, s, v)
    axes3 = axes[:3]
    t3 = table[..., 0]
    exact = f(pts[0], pts[1], pts[2], 0.0)
    np.testing.assert_allclose(contract(t3, axes3, pts[:3]), exact, rtol=1e-11)


def test_contract_broadcasting_scalars_and_chunks(monkeypatch):
    from sen2cor_qgis.core.atmcorr.lut import interp
    axes = [SplineAxis([0.0, 1.0, 2.0, 3.0]), SplineAxis([0.0, 10.0, 20.0])]
    table = np.add.outer(np.array([0.0, 1.0, 4.0, 9.0]), np.array([0.0, 0.1, 0.2]))
    a = np.linspace(0, 3, 11)[:, None]            # (11, 1)
    b = np.array([[5.0, 15.0]])                   # (1, 2)
    monkeypatch.setattr(interp, "CHUNK", 3)       # several chunks
    got = contract(table, axes, [a, b])
    assert got.shape == (11, 2)
    np.testing.assert_allclose(got, a ** 2 + b / 100.0, atol=1e-12)
    # a uniform array is contracted like a scalar, with the same result
    np.testing.assert_allclose(contract(table, axes, [np.full((4,), 1.5), 5.0]),
                               np.full(4, 2.25 + 0.05), atol=1e-12)
    assert contract(table, axes, [2.0, 10.0]).shape == ()


# ------------------------------------------------------------- path over the scattering angle
def test_scattering_angle_convention():
    """raa 0 = sun and sensor on the same side (backscattering), as in the table and 6S."""
    np.testing.assert_allclose(scattering_angle(30.0, 10.0, 0.0), 160.0)
    np.testing.assert_allclose(scattering_angle(30.0, 10.0, 180.0), 140.0)
    np.testing.assert_allclose(scattering_angle([0.0, 45.0], 0.0, 77.0), [180.0, 135.0])


def _rippled_atmosphere(aot, sza, vza, raa, z):
    """A smooth 'multiple-scattering' path plus a single-scattering term whose phase function
    has 6 deg ripples (as 6S's maritime aerosol); optical depths over (aot, z)."""
    tau_a = 0.9 * aot * np.exp(-z / 2.0)
    tau_r = 0.1 * np.exp(-z / 8.0)
    mu_s, mu_v = np.cos(np.radians(sza)), np.cos(np.radians(vza))
    theta = scattering_angle(sza, vza, raa)
    phase = 0.5 + 0.3 * np.cos(np.radians(theta)) ** 2 + 0.03 * np.sin(np.radians(60.0 * theta))
    smooth = (tau_r * 0.3 * (1 / mu_s + 1 / mu_v)
              + 0.05 * tau_a * (1 + 0.2 * mu_s) * (1 + 0.01 * vza))
    return smooth + single_scattering_weight(sza, vza, tau_a, tau_r) * phase, tau_a, tau_r


def test_path_interpolator_follows_phase_ripples():
    names = ("aot", "sza", "vza", "raa", "z")
    axes = {"aot": SplineAxis(G.AOT550), "sza": SplineAxis(G.SZA), "vza": SplineAxis(G.VZA),
            "raa": SplineAxis(G.RAA, bc="even"), "z": SplineAxis(G.ELEVATION_KM)}
    nodes = np.meshgrid(*[axes[n].values for n in names], indexing="ij")
    path, _, _ = _rippled_atmosphere(*nodes)
    aot, z = np.meshgrid(axes["aot"].values, axes["z"].values, indexing="ij")
    _, tau_a, tau_r = _rippled_atmosphere(aot, 0.0, 0.0, 0.0, z)
    rayleigh = _rippled_atmosphere(0.0, *nodes[1:])[0][0]
    interp = PathInterpolator(path, rayleigh, tau_a, tau_r, axes, refine=[8, 8, 4, 4, 8])
    plain = TableInterpolator(path, [axes[n] for n in names])
    assert interp.ripple is not None
    # exact at the nodes
    np.testing.assert_allclose(interp(nodes), path, atol=1e-12)
    rng = np.random.default_rng(5)
    n = 3000
    q = (rng.uniform(0.05, 1.2, n), rng.uniform(0, 70, n), rng.uniform(0, 12, n),
         rng.uniform(0, 180, n), rng.uniform(0, 3.5, n))
    truth = _rippled_atmosphere(*q)[0]
    err_new = np.sqrt(np.mean((interp(q) - truth) ** 2))
    err_plain = np.sqrt(np.mean((plain(q) - truth) ** 2))
    assert err_new < 0.25 * err_plain, (err_new, err_plain)


def test_phase_ripple_needs_enough_nodes():
    path = np.ones((3, 1, 3, 5, 2))
    tau = np.full((3, 2), 0.3)
    assert fit_phase_ripple(path, path[0], tau, tau, [30.0], G.VZA, G.RAA) is None
    assert fit_phase_ripple(np.ones((3, 8, 1, 1, 2)), np.ones((8, 1, 1, 2)), tau, tau, G.SZA,
                            [0.0], [0.0]) is None


# ------------------------------------------------------------------------ spectral integration
def test_spectral_integrator_power_law_exact():
    nodes = np.array(G.WAVELENGTHS_UM)
    wl = np.arange(430.0, 540.0, 2.5) / 1000.0
    w = np.ones_like(wl)
    w[0] = w[-1] = 0.5
    w /= w.sum()
    integ = T._SpectralIntegrator(nodes, wl, w)
    # a value set that is a power law in wavelength is reproduced exactly, per element
    vals = 0.01 * (nodes[:, None] / 0.55) ** np.array([-4.0, -1.3])[None, :]
    got = integ(vals)
    want = (w[:, None] * 0.01 * (wl[:, None] / 0.55) ** np.array([-4.0, -1.3])).sum(axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # below 0.001 6S interpolates linearly
    small = 1e-4 * (1 + nodes)
    np.testing.assert_allclose(integ(small), np.sum(w * 1e-4 * (1 + wl)), rtol=1e-12)


def test_resample_response_grid():
    start, v = resample_response(761, np.ones(163))
    assert start == 762.5 and len(v) == int((922.5 - 762.5) / 2.5) + 1
    start, v = resample_response(412, np.linspace(0, 1, 46))
    assert start == 412.5
    np.testing.assert_allclose(v[:3], [0.5 / 45, 3 / 45, 5.5 / 45], atol=1e-8)


# ---------------------------------------------------------------------------------- coverage
def test_complete_box_peels_incomplete_slices():
    c = np.ones((7, 8, 3, 5, 5), bool)
    assert T._complete_box(c) == [(0, 6), (0, 7), (0, 2), (0, 4), (0, 4)]
    c[:, :, :, :, 3:] = False                     # high elevations missing
    c[:, :2, :, :, :] = False                     # sun zenith 0 and 10 missing
    c[4, 5, 1, 2, 2] = False                      # one more hole
    box = T._complete_box(c)
    sub = c[tuple(slice(lo, hi + 1) for lo, hi in box)]
    assert sub.all()
    assert box[4] == (0, 1) and box[1][0] == 2
    assert T._complete_box(np.zeros((2, 2, 2, 2, 2), bool)) is None


# ------------------------------------------------------------------ loader on a synthetic table
def synthetic_raw(complete_fraction=1.0):
    """A table file's arrays filled from smooth analytic 'atmospheres' (not physics)."""
    wl = np.array(G.WAVELENGTHS_UM)
    aot, sza, vza, raa, zz = (np.array(a) for a in (G.AOT550, G.SZA, G.VZA, G.RAA,
                                                    G.ELEVATION_KM))
    W, A, S, V, R, Z = np.meshgrid(wl, aot, sza, vza, raa, zz, indexing="ij")
    p = np.exp(-Z / 8.0)
    ms, mv = 1 / np.cos(np.radians(S)), 1 / np.cos(np.radians(V))
    tr = 0.0088 * W ** -4.05 * p
    ta = A * (W / 0.55) ** -1.2
    # every field a power law of wavelength (as 6S interpolates them): exact band integrals
    rr = tr * 0.3 * (ms + mv) * (1 + 0.002 * V * np.cos(np.radians(R)))
    rm = rr * (1 + 0.4 * A * (1 + 0.003 * V * np.cos(np.radians(R))))
    td = 0.8 * (W / 0.55) ** (0.02 * ms) * np.exp(-0.1 * A * ms - 0.05 * p)
    tu = 0.8 * (W / 0.55) ** (0.02 * mv) * np.exp(-0.1 * A * mv - 0.05 * p)
    sa = 0.1 * (W / 0.55) ** -2.0 * (p + A)
    # arrays as tools/build_lut.py --assemble keeps them (maritime = continental x 1.01)
    mar = np.float32(1.01)
    scat = {"rayleigh": rr[:, 0], "path": rm, "t_down": td[:, :, :, 0, 0, :],
            "t_up": tu[:, :, 0, :, 0, :], "s_albedo": sa[:, :, 0, 0, 0, :],
            "tau_rayleigh": tr[:, :, 0, 0, 0, :], "tau_aerosol": ta[:, :, 0, 0, 0, :]}
    scat = {k: (v.astype(np.float32) if k == "rayleigh" else
                np.stack([v, v * mar]).astype(np.float32)) for k, v in scat.items()}
    scat["rayleigh"] *= mar          # the synthetic Rayleigh term follows the maritime scale too
    complete = np.ones((2, len(aot), len(sza), len(vza), len(raa), len(zz)), bool)
    if complete_fraction < 1.0:
        scat["path"][..., 3:] = np.nan                             # elevations 2.5, 3.5 missing
        complete[..., 3:] = False
    swl = np.arange(410.0, 2330.01, 2.5) / 1000.0
    solar = 1900.0 * (swl / 0.5) ** -1.5
    am, gz, wv, o3 = (np.array(a) for a in (G.AIRMASS, G.GAS_ELEVATION_KM, G.WATER_VAPOUR_CM,
                                            G.OZONE_DU))
    nb = len(G.BANDS)
    M, Zg, U = np.meshgrid(am, gz, wv, indexing="ij")
    kw = np.linspace(0.0, 0.3, nb)[:, None, None, None]
    tg = np.exp(-0.02 * M[None] - kw * np.sqrt(U[None] * M[None] * np.exp(-Zg[None] / 2.0)))
    gas = np.repeat(np.stack([tg] * 5, axis=-1)[None], 3, axis=0).astype(np.float32)
    Mo, O = np.meshgrid(am, o3, indexing="ij")
    ko = np.linspace(1e-4, 0.0, nb)[:, None, None]
    iw = list(G.WATER_VAPOUR_CM).index(G.WATER_VAPOUR_REF_CM)
    oz = tg[:, :, 0, iw][:, :, None] * np.exp(-ko * (O[None] - G.OZONE_REF_DU) * Mo[None])
    ozone = np.repeat(np.stack([oz] * 5, axis=-1)[None], 3, axis=0).astype(np.float32)
    raw = dict(format_version=np.array(G.FORMAT_VERSION), wavelengths_um=wl.astype(np.float32),
               aerosols=np.array(G.AEROSOLS), aot550=aot.astype(np.float32),
               sza=sza.astype(np.float32), vza=vza.astype(np.float32),
               raa=raa.astype(np.float32), elevation_km=zz.astype(np.float32),
               complete=complete, **{f"scat_{k}": v for k, v in scat.items()},
               solar_wavelengths_um=swl.astype(np.float32),
               solar_irradiance=solar.astype(np.float32), units=np.array(G.UNITS),
               bands=np.array(G.BANDS), airmass=am.astype(np.float32),
               gas_elevation_km=gz.astype(np.float32), water_vapour_cm=wv.astype(np.float32),
               ozone_du=o3.astype(np.float32), ozone_ref_du=np.float32(G.OZONE_REF_DU),
               water_vapour_ref_cm=np.float32(G.WATER_VAPOUR_REF_CM),
               gas_fields=np.array(G.GAS_FIELDS), gas=gas, ozone=ozone)
    for u in G.UNITS:
        for i, b in enumerate(G.BANDS):
            c = 450 + 150 * i
            raw[f"srf_{u}_{b}"] = np.array([c - 20.0] + [1.0] * 17, dtype=np.float32)
    return raw


@pytest.fixture(scope="module")
def synthetic_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("lut") / "lut_6s.npz"
    np.savez_compressed(path, **synthetic_raw())
    return path


def test_load_and_terms_shapes_dtypes(synthetic_file):
    lut = AtmosphereLUT.load("S2B", aerosol="RURAL", season="WINTER", path=synthetic_file)
    assert lut.aerosol_model == "RURAL" and lut.unit == "S2B"
    assert lut.coverage.complete and lut.coverage.bands == G.BANDS
    assert "S2B" in lut.description and lut.files == ("lut_6s.npz",)
    aot = np.linspace(0.01, 1.1, 12).reshape(3, 4)
    t = lut.terms("B04", aot, 35.0, np.full((3, 1), 7.0), 60.0, 0.4, 2.2, 320.0)
    for name in ("path_reflectance", "gas_transmittance", "t_down", "t_up", "spherical_albedo",
                 "t_down_direct", "t_up_direct"):
        v = getattr(t, name)
        assert v.dtype == np.float32 and v.shape == (3, 4), name
        assert np.all(np.isfinite(v))
    assert np.all(np.diff(t.path_reflectance.ravel()) > 0)          # more aerosol, more path
    assert np.all((t.t_down_direct > 0) & (t.t_down_direct < 1))
    s = lut.terms("B04", 0.3, 35.0, 7.0, 60.0, 0.4, 2.2, 320.0)
    assert s.path_reflectance.shape == ()


def test_terms_reproduce_the_synthetic_atmosphere(synthetic_file):
    """Band terms of a one-band-wide flat response equal the analytic values (integration,
    interpolation and gas plumbing)."""
    lut = AtmosphereLUT.load("S2A", aerosol="MARITIME", path=synthetic_file)
    raw = T.load_raw(synthetic_file)
    rng = np.random.default_rng(3)
    n = 400
    # sun zenith <= 60: the synthetic 1/cos(SZA) is stiffer near 70 deg than 6S's terms
    aot, sza, vza = rng.uniform(0, 1.2, n), rng.uniform(0, 60, n), rng.uniform(0, 12, n)
    raa, z = rng.uniform(0, 180, n), rng.uniform(0, 3.5, n)
    wv, o3 = rng.uniform(0.2, 5, n), rng.uniform(250, 460, n)
    t = lut.terms("B02", aot, sza, vza, raa, z, wv, o3)
    # reference: the same analytic formulas integrated over the band (maritime = x1.01)
    start = float(raw["srf_S2A_B02"][0])
    wl = (start + 2.5 * np.arange(17)) / 1000.0
    e0 = 1900.0 * (wl / 0.5) ** -1.5
    w = e0.copy()
    w[0] *= 0.5
    w[-1] *= 0.5
    w /= w.sum()
    W = wl[:, None]
    p = np.exp(-z / 8.0)
    ms, mv = 1 / np.cos(np.radians(sza)), 1 / np.cos(np.radians(vza))
    tr = 0.0088 * W ** -4.05 * p
    ta = aot * (W / 0.55) ** -1.2
    rr = (w[:, None] * tr * 0.3 * (ms + mv) * (1 + 0.002 * vza * np.cos(np.radians(raa)))
          ).sum(0) * 1.01
    rm = rr * (1 + 0.4 * aot * (1 + 0.003 * vza * np.cos(np.radians(raa))))
    td = (w[:, None] * 0.8 * (W / 0.55) ** (0.02 * ms)).sum(0) * np.exp(
        -0.1 * aot * ms - 0.05 * p) * 1.01
    del ta
    m = ms + mv
    kw = np.linspace(0.0, 0.3, 12)[1]
    ko = np.linspace(1e-4, 0.0, 12)[1]

    def tg(u):
        return np.exp(-0.02 * m - kw * np.sqrt(u * m * np.exp(-z / 2.0))
                      - ko * (o3 - G.OZONE_REF_DU) * m)

    path = rr * tg(0.0) + (rm - rr) * tg(wv / 2)
    np.testing.assert_allclose(t.path_reflectance, path, rtol=2e-3)
    np.testing.assert_allclose(t.t_down, td, rtol=2e-3)
    np.testing.assert_allclose(t.gas_transmittance, tg(wv), rtol=2e-3)


def test_partial_table_coverage(tmp_path):
    path = tmp_path / "partial.npz"
    np.savez_compressed(path, **synthetic_raw(complete_fraction=0.5))
    lut = AtmosphereLUT.load("S2C", "MARITIME", path=path)
    cov = lut.coverage
    assert not cov.complete
    assert cov.ranges["elevation_km"] == (0.0, 1.5)
    assert cov.ranges["sza"] == (0.0, 70.0)
    assert cov.scattering_nodes_done < cov.scattering_nodes_total
    assert cov.contains(0.2, 30, 5, 200, 1.0) and not cov.contains(0.2, 30, 5, 20, 2.0)
    assert "elevation_km 0..1.5" in str(cov)
    t = lut.terms("B8A", 0.2, 30.0, 5.0, 20.0, 1.0, 1.0, 300.0)
    assert np.isfinite(t.path_reflectance)


def test_missing_band_and_bad_arguments(synthetic_file):
    lut = AtmosphereLUT.load("S2A", path=synthetic_file)
    with pytest.raises(LUTNotAvailableError):
        lut.terms("B10", 0.1, 30, 5, 10, 0, 1, 300)
    with pytest.raises(ValueError):
        AtmosphereLUT.load("S2A", aerosol="DESERT", path=synthetic_file)
    with pytest.raises(ValueError):
        AtmosphereLUT.load("S2X", path=synthetic_file)
    with pytest.raises(ValueError):
        AtmosphereLUT.load({"B04": (640, [1.0] * 40)}, path=synthetic_file)     # no unit
    with pytest.raises(LUTNotAvailableError):
        AtmosphereLUT.load("S2A", path=synthetic_file.parent / "nothing.npz")


def test_custom_response_from_metadata(synthetic_file):
    """A product's own 1 nm responses are integrated instead of the stored ones."""
    srf = {"B04": {"first_nm": 640, "values": [1.0] * 41}}
    lut = AtmosphereLUT.load(srf, unit="S2B", path=synthetic_file)
    assert lut.coverage.bands == ("B04",)
    assert 0.655 < lut.band_wavelength_um("B04") < 0.665
    t = lut.terms("B04", 0.1, 30, 5, 10, 0, 1, 300)
    assert float(t.path_reflectance) > 0


# ---------------------------------------------------------------------- visibility and inversion
def test_visibility_aot_relation_reference_values():
    # SEN2COR_REFERENCE §6.3: at sea level 120 km <-> 0.079, 40 km <-> 0.20, 23 km <-> 0.32,
    # 5 km <-> 1.19
    for vis, aot in ((120, 0.079), (40, 0.20), (23, 0.32), (5, 1.19)):
        assert visibility_to_aot550(vis, 0.0) == pytest.approx(aot, abs=0.006)
    # the tabulated and quadratic forms agree at the tabulated elevations
    for z in (0.0, 0.7, 2.5):
        assert visibility_to_aot550(23, z) == pytest.approx(
            visibility_to_aot550(23, z, form="quadratic"), rel=1e-5)
    a = math.exp(0.926640 - 0.805663 * math.log(15.0))
    assert visibility_to_aot550(15, 2.5) == pytest.approx(a, rel=1e-9)
    # AOT decreases with elevation for a given visibility; inverse round trip
    z = np.array([0.0, 0.3, 1.0, 2.0, 3.5])
    v = np.array([5.0, 10.0, 23.0, 60.0, 120.0])
    aot = visibility_to_aot550(v[:, None], z[None, :])
    assert np.all(np.diff(aot, axis=1) < 0)
    np.testing.assert_allclose(aot550_to_visibility(aot, z[None, :]), np.broadcast_to(
        v[:, None], aot.shape), rtol=1e-9)
    # the table's AOT range covers Sen2Cor's 5..120 km at every elevation
    assert visibility_to_aot550(5.0, 0.0) <= max(G.AOT550) + 0.001
    assert visibility_to_aot550(120.0, 3.5) > 0.0


def test_inversion_round_trip():
    rng = np.random.default_rng(7)
    n = 1000
    t = AtmosphericTerms(
        path_reflectance=rng.uniform(0.0, 0.25, n).astype(np.float32),
        gas_transmittance=rng.uniform(0.1, 1.0, n).astype(np.float32),
        t_down=rng.uniform(0.3, 1.0, n).astype(np.float32),
        t_up=rng.uniform(0.5, 1.0, n).astype(np.float32),
        spherical_albedo=rng.uniform(0.0, 0.3, n).astype(np.float32),
        t_down_direct=rng.uniform(0.2, 0.9, n).astype(np.float32),
        t_up_direct=rng.uniform(0.4, 0.9, n).astype(np.float32))
    rho = rng.uniform(0.0, 1.0, n).astype(np.float32)
    toa = toa_from_surface(t, rho)
    back = surface_from_toa(t, toa)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, rho, atol=2e-5)
    # y = (toa - path) / (Tg T_down T_up), rho = y / (1 + S y)
    y = (toa.astype(np.float64) - t.path_reflectance) / (
        t.gas_transmittance * t.t_down * t.t_up)
    np.testing.assert_allclose(back, y / (1 + t.spherical_albedo * y), rtol=1e-5, atol=1e-6)


def test_fast_path_matches_the_spline(synthetic_file):
    """Many points go through the refined multilinear path; it must agree with the exact
    spline (few points) to well below the accuracy budget."""
    lut = AtmosphereLUT.load("S2A", path=synthetic_file)
    rng = np.random.default_rng(11)
    n = 6000
    args = (rng.uniform(0, 1.2, n), rng.uniform(0, 70, n), 7.5, rng.uniform(0, 180, n),
            rng.uniform(0, 3.5, n), rng.uniform(0.2, 5, n), 330.0)
    fast = lut.terms("B05", *args)
    slow = [lut.terms("B05", *[a[i:i + 500] if np.ndim(a) else a for a in args])
            for i in range(0, n, 500)]
    for name in ("path_reflectance", "gas_transmittance", "t_down", "t_up", "spherical_albedo"):
        ref = np.concatenate([getattr(s, name) for s in slow])
        assert np.max(np.abs(getattr(fast, name) - ref)) < 3e-5, name


def test_terms_field_matches_terms(synthetic_file):
    lut = AtmosphereLUT.load("S2A", path=synthetic_file)
    h, w = 150, 170
    yy, xx = np.mgrid[0:h, 0:w] / 150.0
    z = 1.0 + 0.5 * np.sin(7 * xx) * np.cos(5 * yy)
    aot = 0.2 + 0.05 * xx
    sza = 35.0 + 2.0 * yy
    out = lut.terms_field("B03", aot, sza, 6.0, 80.0, z, 1.5, 330.0, cell=8, dz_km=0.005)
    assert out.path_reflectance.shape == (h, w) and out.t_up.dtype == np.float32
    ref = lut.terms("B03", aot, sza, 6.0, 80.0, z, 1.5, 330.0)
    np.testing.assert_allclose(out.path_reflectance, ref.path_reflectance, atol=2e-4)
    np.testing.assert_allclose(out.gas_transmittance, ref.gas_transmittance, atol=2e-4)
    compact, index = lut.terms_field("B03", aot, sza, 6.0, 80.0, z, 1.5, 330.0, cell=8,
                                     expand=False)
    assert index.shape == (h, w)
    np.testing.assert_array_equal(compact.take(index).t_down, lut.terms_field(
        "B03", aot, sza, 6.0, 80.0, z, 1.5, 330.0, cell=8).t_down)
    flat = lut.terms_field("B03", 0.1, 30.0, 6.0, 80.0, 0.0, 1.5, 330.0 + np.zeros((4, 5)))
    assert flat.path_reflectance.shape == (4, 5)
