"""Slope, aspect, illumination and sky-view factor against analytic values and gdaldem."""
import math

import numpy as np
import pytest
from osgeo import gdal

from sen2cor_qgis.core.auxdata import terrain as T
from sen2cor_qgis.core.product.model import AngleGrid

RES = 20.0


def plane(n, east, north, res=RES):
    """z = east * x + north * y (gradients in m/m; y grows northwards), n x n pixels."""
    r, c = np.mgrid[0:n, 0:n]
    x, y = (c + 0.5) * res, -(r + 0.5) * res
    return (east * x + north * y).astype(np.float32)


def analytic_slope_aspect(east, north):
    slope = math.degrees(math.atan(math.hypot(east, north)))
    aspect = math.degrees(math.atan2(-east, -north)) % 360.0      # azimuth of the downhill direction
    return slope, aspect


@pytest.mark.parametrize("east,north", [(0.3, 0.0), (0.0, 0.3), (-0.2, 0.1), (0.1, -0.4), (-0.05, -0.05)])
def test_tilted_plane_slope_and_aspect_everywhere(east, north):
    slope, aspect = T.slope_aspect(plane(9, east, north), RES)
    s, a = analytic_slope_aspect(east, north)
    assert np.allclose(slope, s, atol=1e-3)
    assert np.allclose(np.mod(aspect - a + 180, 360) - 180, 0, atol=1e-3)     # edges and corners too


def test_flat_pixels_have_zero_aspect_and_slope():
    slope, aspect = T.slope_aspect(np.full((5, 5), 100, np.float32), RES)
    assert not slope.any() and not aspect.any()


def gdaldem(dem, what, **kw):
    src = gdal.GetDriverByName("MEM").Create("", dem.shape[1], dem.shape[0], 1, gdal.GDT_Float32)
    src.SetGeoTransform((0, RES, 0, 0, 0, -RES))
    src.GetRasterBand(1).WriteArray(dem)
    return gdal.DEMProcessing("", src, what, format="MEM", computeEdges=True, **kw).ReadAsArray()


def rough_dem(n=64):
    rng = np.random.default_rng(7)
    r, c = np.mgrid[0:n, 0:n]
    return (300 * np.sin(c / 9.0) * np.cos(r / 7.0) + 5 * rng.standard_normal((n, n))).astype(np.float32)


def test_same_as_gdaldem_slope_aspect_and_hillshade():
    dem = rough_dem()
    slope, aspect = T.slope_aspect(dem, RES)
    inner = (slice(1, -1), slice(1, -1))
    assert np.abs(slope - gdaldem(dem, "slope"))[inner].max() < 1e-3
    ref_aspect = gdaldem(dem, "aspect", zeroForFlat=True)
    assert np.abs(np.mod(aspect - ref_aspect + 180, 360) - 180)[inner].max() < 1e-2
    cos_i = T.cos_illumination(slope, aspect, 35.0, 160.0)
    shade = gdaldem(dem, "hillshade", azimuth=160.0, altitude=55.0)
    assert np.abs(T.hillshade_uint8(cos_i).astype(int) - shade)[inner].max() <= 1


@pytest.mark.parametrize("sza,saa", [(30, 180), (60, 135), (45, 270), (10, 20)])
def test_illumination_equals_the_cosine_between_normal_and_sun(sza, saa):
    east, north = 0.25, -0.15
    slope, aspect = T.slope_aspect(plane(5, east, north), RES)
    cos_i = T.cos_illumination(slope, aspect, sza, saa)
    normal = np.array([-east, -north, 1.0]) / math.sqrt(1 + east ** 2 + north ** 2)
    z, a = math.radians(sza), math.radians(saa)
    sun = np.array([math.sin(z) * math.sin(a), math.sin(z) * math.cos(a), math.cos(z)])
    assert np.allclose(cos_i, normal @ sun, atol=1e-5)


def test_sunlit_and_shaded_slopes():
    # sun from the south-east (SAA 135) at 50°: a slope facing SE is brighter than a flat field,
    # a slope facing NW darker
    se = T.cos_illumination(30.0, 135.0, 50.0, 135.0)
    nw = T.cos_illumination(30.0, 315.0, 50.0, 135.0)
    flat = math.cos(math.radians(50))
    assert se == pytest.approx(math.cos(math.radians(20))) and nw == pytest.approx(math.cos(math.radians(80)))
    assert se > flat > nw
    assert T.cos_illumination(70.0, 315.0, 50.0, 135.0) < 0      # self shadow


def test_sky_view_of_an_open_plane_matches_sen2cor_formula():
    east, north = 0.4, 0.2
    halo = 60
    dem = plane(100 + 2 * halo, east, north, res=60.0)
    svf = T.horizon_sky_view(dem, 60.0, radius_m=3000, directions=16, halo=halo)
    slope = math.degrees(math.atan(math.hypot(east, north)))
    expected = 0.5 * (1 + math.cos(math.radians(slope)))
    assert svf.shape == (100, 100)
    assert np.abs(svf - expected).max() < 0.01
    assert T.sky_view_slope(np.float32(slope)) == pytest.approx(expected)


def test_sky_view_of_a_valley_floor_is_reduced():
    n, res = 201, 60.0
    c = np.arange(n)
    z = np.tile(np.abs(c - n // 2) * res * 0.5, (n, 1)).astype(np.float32)   # V valley, 26.6° walls
    svf_h = T.horizon_sky_view(z, res, radius_m=3000, halo=0)
    slope, _ = T.slope_aspect(z, res)
    svf = T.sky_view_factor(slope, res, svf_h, res)
    centre = svf[n // 2, n // 2]
    assert centre < 0.95 and T.sky_view_slope(slope)[n // 2, n // 2] > 0.95    # floor: flat, but hidden
    assert svf[n // 2, 0] == pytest.approx(0.5 * (1 + math.cos(math.atan(0.5))), abs=0.02)
    flat = T.horizon_sky_view(np.zeros((50, 50), np.float32), res)
    assert np.all(flat == 1)


def test_sky_view_upsampled_from_the_coarse_grid():
    coarse = np.full((10, 10), 0.8, np.float32)
    v = T.sky_view_factor(np.zeros((60, 60), np.float32), 10.0, coarse, 60.0)
    assert v.shape == (60, 60) and np.allclose(v, 0.8)


def test_sun_angles_are_interpolated_to_pixel_centres():
    n, step = 5, 5000.0
    jj, ii = np.meshgrid(np.arange(n), np.arange(n))
    zen = 30.0 + 0.002 * (jj * step) + 0.001 * (ii * step)           # linear in x and y
    azi = np.where(jj < 2, 359.0, 1.0) * np.ones((n, n))                # crosses north
    zen[4, 4] = np.nan
    grid = AngleGrid(zen, azi, step, step)
    sza, saa = T.sun_angles_on_grid(grid, 60.0, (300, 300), clip_zenith=None)
    x = (np.arange(300) + 0.5) * 60.0
    expected = 30.0 + 0.002 * x[None, :] + 0.001 * x[:, None]
    inside = np.ones_like(expected, dtype=bool)
    inside[250:, 250:] = False                                          # around the NaN node
    assert np.abs(sza - expected)[inside].max() < 1e-3
    between = saa[:, int(7500 / 60)]                                    # halfway between nodes 1 and 2
    assert np.all((np.abs(between - 0) < 0.05) | (np.abs(between - 360) < 0.05))   # never ~180
    assert np.all((saa >= 0) & (saa < 360))
    clipped, _ = T.sun_angles_on_grid(AngleGrid(np.full((3, 3), 75.0), np.full((3, 3), 150.0), step, step), 60.0, (4, 4))
    assert np.all(clipped == 70.0)


def test_flat_terrain_rule():
    flat = np.full((100, 100), 200.0, np.float32) + np.linspace(0, 40, 100)[None, :]
    slope, _ = T.slope_aspect(flat, 20.0)
    assert T.is_flat(flat, slope)
    hilly = plane(100, 0.2, 0.0)
    slope, _ = T.slope_aspect(hilly, 20.0)
    assert not T.is_flat(hilly, slope)
    assert T.is_flat(np.zeros((10, 10), np.float32), np.zeros((10, 10), np.float32))
