"""CAMS netCDF analyses (Sen2Cor 3 layout in the auxiliary-data folder) in the full processing:
with no DDV pixels the aerosol falls back to the CAMS AOD550 field, the ozone and (without a
water-vapour retrieval) the water vapour come from the CAMS tile means, and L2A_QUALITY.xml
lists the file; `cams="OFF"` ignores the files; `cams="ON"` without files stops before writing."""
from __future__ import annotations

from datetime import timedelta, timezone

import numpy as np
import pytest

from sen2cor_qgis.core.auxdata.cams import daily_file
from sen2cor_qgis.core.errors import AuxiliaryDataError
from sen2cor_qgis.core.pipeline import ProcessingOptions, process_product
from sen2cor_qgis.core.product.l1c_reader import read_l1c
from sen2cor_qgis.core.product.l2a_quality import quality_values
from sen2cor_qgis.tools.sample_product import generate_product

from .test_aux_cams import write_cams

RUN = {"WV_Correction": 0, "Adj_Km": 0.0, "Ozone_Content": 0}


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A tiny product and a CAMS day file over it: AOD 0.25, TCWV 15 kg m-2, ozone 0.0070 kg m-2."""
    root = tmp_path_factory.mktemp("cams")
    l1c = generate_product(root / "l1c", size="tiny", spacecraft="S2B")
    product = read_l1c(l1c)
    when = product.granule.sensing_time.astimezone(timezone.utc).replace(tzinfo=None)
    lats = [p[0] for p in product.footprint]
    lons = [p[1] for p in product.footprint]
    lat = np.arange(np.ceil(max(lats)) + 1, np.floor(min(lats)) - 1 - 1e-6, -0.4)
    lon = np.arange(np.floor(min(lons)) - 1, np.ceil(max(lons)) + 1 + 1e-6, 0.4)
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    fields = {"aod550": lambda lo, la, t: 0.25 + 0 * lo, "tcwv": lambda lo, la, t: 15.0 + 0 * lo,
              "gtco3": lambda lo, la, t: 0.0070 + 0 * lo}
    aux = root / "aux"
    write_cams(daily_file(aux, day), [day + timedelta(hours=h) for h in (0, 6, 12, 18)], lat, lon,
               fields=fields, pack=False)
    return l1c, aux, daily_file(aux, day).name


def _quality(result):
    granule = next((result.product_path / "GRANULE").iterdir())
    return quality_values(granule / "QI_DATA" / "L2A_QUALITY.xml")


def test_cams_field_is_the_aerosol_fallback_and_gives_ozone_and_water_vapour(scene, home, tmp_path,
                                                                           monkeypatch):
    from sen2cor_qgis.core.atmcorr import aerosol

    l1c, aux, name = scene
    monkeypatch.setattr(aerosol.AerosolRetrieval, "run_ddv", lambda self, ev, res: None)   # no DDV
    result = process_product(l1c, ProcessingOptions(output_dir=str(tmp_path / "out"), aux_data_dir=str(aux),
                                                    resolution=20, overrides=RUN))
    q = _quality(result)
    assert q["AOT_RETRIEVAL_METHOD"] == "CAMS"
    assert float(q["GRANULE_MEAN_AOT"]) == pytest.approx(0.25, abs=0.005)
    assert float(q["GRANULE_MEAN_WV"]) == pytest.approx(1.5, abs=0.01)
    assert q["OZONE_SOURCE"] == "OTHER"
    assert float(q["OZONE_VALUE"]) == pytest.approx(0.0070 / 6.428e-3 * 300, abs=0.1)
    assert name in q["AUX_DATA_FILES"]


def test_cams_off_uses_the_products_own_auxiliary_data(scene, home, tmp_path):
    l1c, aux, name = scene
    result = process_product(l1c, ProcessingOptions(output_dir=str(tmp_path / "out"), aux_data_dir=str(aux),
                                                    resolution=20, cams="OFF", overrides=RUN))
    q = _quality(result)
    assert q["OZONE_SOURCE"] == "AUX_ECMWFT" and name not in q["AUX_DATA_FILES"]


def test_cams_on_without_files_stops_before_writing(scene, home, tmp_path):
    l1c, _, _ = scene
    out = tmp_path / "out"
    with pytest.raises(AuxiliaryDataError, match="CAMS"):
        process_product(l1c, ProcessingOptions(output_dir=str(out), aux_data_dir=str(tmp_path), cams="ON"))
    assert not out.exists() or not list(out.iterdir())
