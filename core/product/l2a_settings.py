"""The settings of one L2A product and the names derived from them, fixed once per product.

`create_l2a_tree` turns its keyword arguments into one `L2ASettings` and one `L2ANames`; every
writer (MTD_MSIL2A, MTD_TL, MTD_DS, L2A_QUALITY, manifest) reads the same two objects, so the
generation time, baseline and identifiers can never disagree between files.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePath
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

from ..errors import ConfigError
from ..version import SEN2COR_GIPP_VERSION, SEN2COR_VERSION
from . import naming
from .model import L1CProduct

DEFAULT_PRODUCT_DOI = "https://doi.org/10.5270/S2_-znk9xsj"
# Auxiliary_Data_Info entries naming the static references (L2A_CAL_SC_GIPP 2.11 defaults, §2.2).
# Sen2Cor writes 'None' for a CCI reference whose file is not installed: callers that know the
# installation pass those values.
DEFAULT_AUX_REFERENCES: Dict[str, str] = {
    "SNOW_CLIMATOLOGY_MAP": "GlobalSnowMap.tiff",
    "ESACCI_WaterBodies_Map": "ESACCI-LC-L4-WB-Map-150m-P13Y-2000-v4.0.tif",
    "ESACCI_LandCover_Map": "ESACCI-LC-L4-LCCS-Map-300m-P1Y-2015-v2.0.7.tif",
    "ESACCI_SnowCondition_Map_Dir": "ESACCI-LC-L4-Snow-Cond-500m-MONTHLY-2000-2012-v2.4",
}
# GIPP_List entries added by the L2A processor: type -> default file name (stem of the GIPP file).
DEFAULT_L2A_GIPPS: Dict[str, str] = {
    "GIP_L2ACSC": "L2A_CAL_SC_GIPP",
    "GIP_L2ACAC": "L2A_CAL_AC_GIPP",
    "GIP_PROBA2": "L2A_PB_GIPP",
}
GippValue = Union[str, Tuple[str, str]]


def gipp_entries(gipp_files: Optional[Mapping[str, GippValue]], baseline: str) -> Tuple[Tuple[str, str, str], ...]:
    """(type, version, name) of the GIPP_FILENAME entries the L2A adds to the L1C list.

    A value may be a file name or path (its stem is written, as Sen2Cor does) or a (name, version)
    pair. Default versions: the Sen2Cor GIPP version without dots ('02.11.00' -> '21100') for the
    calibration files, the output baseline without dot ('99.99' -> '9999') for GIP_PROBA2.
    """
    merged: Dict[str, GippValue] = dict(DEFAULT_L2A_GIPPS)
    merged.update(gipp_files or {})
    processor_version = "%04d" % int(SEN2COR_GIPP_VERSION.replace(".", ""))
    entries = []
    for gipp_type, value in merged.items():
        if isinstance(value, tuple):
            name, version = value
        else:
            name = value
            version = baseline.replace(".", "") if gipp_type == "GIP_PROBA2" else processor_version
        stem = PurePath(str(name)).name.split(".")[0]
        if not stem:
            raise ConfigError(f"empty GIPP file name for {gipp_type}")
        entries.append((gipp_type, str(version), stem))
    return tuple(entries)


@dataclass(frozen=True)
class L2ASettings:
    """Everything about one L2A product that is not read from the L1C."""

    baseline: str                                   # '99.99' (normalised)
    generation_time: datetime                       # UTC, whole seconds
    processing_centre: str
    archiving_centre: str
    output_format: str                              # 'JP2' | 'TIF' | 'RAW'
    product_doi: str = DEFAULT_PRODUCT_DOI
    psd: int = 14
    resolutions: Tuple[int, ...] = (10, 20, 60)     # resolutions whose layers the product lists
    dem_resolutions: Tuple[int, ...] = ()           # DEM outputs in AUX_DATA (Generate_DEM_Output)
    dem_type: str = "None"                          # PRODUCTION_DEM_TYPE ('None' without DEM)
    aux_references: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_AUX_REFERENCES))
    gipps: Tuple[Tuple[str, str, str], ...] = ()
    boa_offset: bool = True                         # BOA_ADD_OFFSET_VALUES_LIST written
    creator_version: str = SEN2COR_VERSION
    gipp_version: str = SEN2COR_GIPP_VERSION

    @property
    def generation_text(self) -> str:
        """GENERATION_TIME text: '2023-12-17T17:56:25.000000Z'."""
        return self.generation_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_utc_naive(moment: datetime) -> datetime:
    """Naive UTC datetime (aware values converted), microseconds dropped: names carry seconds."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def make_names(product: L1CProduct, settings: L2ASettings) -> naming.L2ANames:
    """All names of the L2A product made from `product` with `settings`."""
    granule = product.granule
    ds_start = naming.datastrip_sensing_start(granule.folder_name, granule.datastrip_id)
    tile = granule.tile_number
    created = settings.generation_time
    return naming.L2ANames(
        product=naming.l2a_product_name(product.spacecraft, product.datatake_sensing_start,
                                        settings.baseline, product.sensing_orbit_number, tile, created),
        granule=naming.l2a_granule_name(tile, granule.absolute_orbit, ds_start),
        datastrip_folder=naming.datastrip_folder_name(settings.processing_centre, created, ds_start),
        tile_id=naming.l2a_tile_id(product.spacecraft, settings.processing_centre, created,
                                   granule.absolute_orbit, tile, settings.baseline),
        datastrip_id=naming.l2a_datastrip_id(product.spacecraft, settings.processing_centre, created,
                                             ds_start, settings.baseline),
        tile=tile,
        datatake_start=product.datatake_sensing_start,
        baseline=settings.baseline,
        output_format=settings.output_format,
    )


def check_resolutions(values: Sequence[int], what: str) -> Tuple[int, ...]:
    result = tuple(sorted({int(v) for v in values}))
    bad = [v for v in result if v not in naming.RESOLUTION_LAYERS]
    if bad:
        raise ConfigError(f"{what}: resolution(s) {bad} not in 10, 20, 60")
    return result
