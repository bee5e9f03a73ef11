"""The one declaration of every Sen2Cor 2.11 GIPP parameter.

Everything else is derived from this table: reading and validating the four XML files, the typed
model's attributes, writing the files back, the command-line override flags and (later) the QGIS
dialog fields. Add or change a parameter here and nowhere else.

Sources: SEN2COR_REFERENCE.md §2 (defaults of the 2.11 templates, ranges of the 2.11 XSDs).
Calibration values are the operational ones of the XML files, never the XSD `default=` attributes.

`since` is the first Sen2Cor release whose GIPP carries the element: "2.8" for everything in the
2.8 files; "2.9" for elements already present in a 2.9/2.10-era user file (ROI, DEM error exit);
"2.10" for the remaining post-2.8 elements (exact release unverified: they are in the 2.11 schema
and absent from that file). Files lacking post-2.8 elements load with defaults and a warning.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from .values import Kind, PsdScheme

# ----------------------------------------------------------------------------------- GIPP files


@dataclass(frozen=True)
class GippFile:
    """One of Sen2Cor's four configuration files."""

    key: str            # L2A, SC, AC, PB (the suffix of the --GIP_L2A* options)
    file_name: str      # standard file name, also the shipped default in defaults/
    root: str           # root element name
    true_text: str      # how this file spells booleans
    false_text: str
    user: bool          # True for the user parameters, False for expert calibration


GIPP_FILES: Dict[str, GippFile] = {
    "L2A": GippFile("L2A", "L2A_GIPP.xml", "Level-2A_Ground_Image_Processing_Parameter",
                    "TRUE", "FALSE", True),
    "SC": GippFile("SC", "L2A_CAL_SC_GIPP.xml",
                   "Level-2A_CAL_SC_Ground_Image_Processing_Parameter", "TRUE", "FALSE", False),
    "AC": GippFile("AC", "L2A_CAL_AC_GIPP.xml",
                   "Level-2A_CAL_AC_Ground_Image_Processing_Parameter", "true", "false", False),
    "PB": GippFile("PB", "L2A_PB_GIPP.xml", "GS2_PROCESSING_BASELINE_PARAMETERS",
                   "TRUE", "FALSE", False),
}
GIPP_KEYS: Tuple[str, ...] = ("L2A", "SC", "AC", "PB")

# Model groups (where the attribute lives in Sen2CorConfig):
#   "user" -> cfg.<name>; "sc" -> cfg.sc.<name>; "sc.classificators" -> cfg.sc.classificators.<NAME>;
#   "sc.thresholds" -> cfg.sc.thresholds.<NAME> (also cfg.thresholds); "ac" -> cfg.ac.<name>;
#   "pb" -> cfg.pb.<name>.
GROUPS: Tuple[str, ...] = ("user", "sc", "sc.classificators", "sc.thresholds", "ac", "pb")


@dataclass(frozen=True)
class Param:
    """Declaration of one GIPP element (or one attribute of an element)."""

    gipp: str                 # key in GIPP_FILES
    path: str                 # element path below the root, '/'-separated; '@attr' for attributes
    name: str                 # Python attribute name in the model, unique over all files
    kind: Kind
    default: Any              # typed 2.11 default
    help: str                 # one short sentence for tooltips and --help
    group: str                # model group, see GROUPS
    choices: Tuple[Any, ...] = ()
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    pattern: Optional[str] = None   # regular expression a STR value must match in full
    length: Optional[int] = None    # number of repeated elements of a FLOAT_LIST
    since: str = "2.8"
    exposed: bool = True      # offered as a CLI flag / dialog field (user parameters only)

    @property
    def file(self) -> GippFile:
        return GIPP_FILES[self.gipp]

    @property
    def file_name(self) -> str:
        return self.file.file_name

    @property
    def element_path(self) -> str:
        """Path of the element carrying the value (without any '@attribute')."""
        return self.path.split("@", 1)[0]

    @property
    def attribute(self) -> Optional[str]:
        return self.path.split("@", 1)[1] if "@" in self.path else None

    @property
    def element(self) -> str:
        """Element name as users know it (the CLI flag); 'wavelength@c0' for attributes."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def user(self) -> bool:
        """A user parameter (L2A_GIPP.xml) rather than expert calibration (SC, AC, PB)."""
        return self.file.user

    @property
    def true_text(self) -> str:
        return self.file.true_text

    @property
    def false_text(self) -> str:
        return self.file.false_text

    @property
    def post_28(self) -> bool:
        """Absent from Sen2Cor 2.8 files: defaulted (with a warning) when missing."""
        return self.since != "2.8"


def _p(gipp: str, group: str, path: str, name: str, kind: Kind, default: Any, help: str,
       **extra: Any) -> Param:
    return Param(gipp=gipp, path=path, name=name, kind=kind, default=default, help=help,
                 group=group, **extra)


_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
BAND_NAMES: Tuple[str, ...] = _BANDS

_PSD_VERSIONS_211 = ("14.2", "14.6", "14.7", "14.8", "14.9")
DEFAULT_PSD_SCHEMES: Tuple[PsdScheme, ...] = tuple(
    PsdScheme(v, f"S2-PDGS-TAS-DI-PSD-V{v}_Schema") for v in _PSD_VERSIONS_211)

# ----------------------------------------------------------------------------------- L2A_GIPP

_CS = "Common_Section"
_ROI = f"{_CS}/Region_Of_Interest"
_LUT = "Atmospheric_Correction/Look_Up_Tables"
_FLG = "Atmospheric_Correction/Flags"
_CAL = "Atmospheric_Correction/Calibration"
_TF = ()  # booleans need no choices: the file decides the spelling


def _l2a(path: str, name: str, kind: Kind, default: Any, help: str, **extra: Any) -> Param:
    return _p("L2A", "user", path, name, kind, default, help, **extra)


def _roi(child: str, default: Any, help: str) -> Param:
    return _l2a(f"{_ROI}/{child}", f"roi_{child}", Kind.ROI, default, help, since="2.9")


_L2A_PARAMS = (
    _l2a(f"{_CS}/Log_Level", "log_level", Kind.ENUM, "INFO",
         "Log verbosity of the processor (--debug forces DEBUG).",
         choices=("NOTSET", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    _roi("row0", "OFF", "Region of interest: row of its midpoint in 10 m pixels; "
                        "OFF = whole tile, AUTO = found automatically."),
    _roi("col0", "OFF", "Region of interest: column of its midpoint in 10 m pixels; "
                        "OFF = whole tile, AUTO = found automatically."),
    _roi("nrow_win", 1200, "Region of interest: height in 10 m pixels around the midpoint."),
    _roi("ncol_win", 1200, "Region of interest: width in 10 m pixels around the midpoint."),
    _l2a(f"{_CS}/Product_DOI", "product_doi", Kind.STR, "https://doi.org/10.5270/S2_-znk9xsj",
         "DOI written into the product metadata (PRODUCT_DOI).", since="2.10"),
    _l2a(f"{_CS}/Nr_Threads", "nr_threads", Kind.THREADS, "AUTO",
         "Number of parallel workers; AUTO uses the number of CPUs.", minimum=1, maximum=8),
    _l2a(f"{_CS}/Product_Generator", "product_generator", Kind.STR, "NONE",
         "Folder in SEN2COR_HOME of a product generator, or NONE.", since="2.10"),
    _l2a(f"{_CS}/DEM_Directory", "dem_directory", Kind.STR, "NONE",
         "DEM folder (relative to SEN2COR_HOME, or absolute); NONE = flat terrain."),
    _l2a(f"{_CS}/DEM_Reference", "dem_reference", Kind.STR, "NONE",
         "Base URL to download missing DEM tiles from; ignored when DEM_Directory is NONE."),
    _l2a(f"{_CS}/Generate_DEM_Output", "generate_dem_output", Kind.BOOL, False,
         "Write the tile DEM into the granule AUX_DATA folder."),
    _l2a(f"{_CS}/Force_Exit_On_DEM_Error", "force_exit_on_dem_error", Kind.BOOL, False,
         "Stop on a DEM problem instead of continuing with a flat surface.", since="2.9"),
    _l2a(f"{_CS}/Generate_TCI_Output", "generate_tci_output", Kind.BOOL, True,
         "Write true-colour images (TCI) into IMG_DATA."),
    _l2a(f"{_CS}/Generate_DDV_Output", "generate_ddv_output", Kind.BOOL, False,
         "Write the dark-dense-vegetation map into QI_DATA."),
    _l2a(f"{_CS}/Handle_L1C_QLT_Mask", "handle_l1c_qlt_mask", Kind.BOOL, False,
         "Use the L1C quality mask (defective/saturated pixels).", since="2.10"),
    _l2a(f"{_CS}/Downsample_20_to_60", "downsample_20_to_60", Kind.BOOL, True,
         "When 20 m is processed, also derive the 60 m product from it."),
    _l2a(f"{_CS}/PSD_Version", "psd_version", Kind.ENUM, "DEFAULT",
         "Force the product-specification version of the output; DEFAULT unless sure.",
         choices=("DEFAULT", "14.6", "14.7", "14.8", "14.9"), since="2.10"),
    _l2a(f"{_CS}/PSD_Scheme", "psd_schemes", Kind.PSD_SCHEMES, DEFAULT_PSD_SCHEMES,
         "Metadata schema names per PSD version.", exposed=False),
    _l2a(f"{_CS}/GIPP_Scheme", "gipp_scheme", Kind.STR, "L2A_GIPP",
         "Schema name of the user GIPP.", pattern=r"L2.+", exposed=False),
    _l2a(f"{_CS}/SC_Scheme", "sc_scheme", Kind.STR, "L2A_CAL_SC_GIPP",
         "Schema name of the scene-classification GIPP.", pattern=r"L2.+", exposed=False),
    _l2a(f"{_CS}/AC_Scheme", "ac_scheme", Kind.STR, "L2A_CAL_AC_GIPP",
         "Schema name of the atmospheric-correction GIPP.", pattern=r"L2.+", exposed=False),
    _l2a(f"{_CS}/PB_Scheme", "pb_scheme", Kind.STR, "L2A_PB_GIPP",
         "Schema name of the processing-baseline GIPP.", pattern=r"L2.+", exposed=False),
    _l2a(f"{_CS}/QI_Scheme", "qi_scheme", Kind.STR, "L2A_QUALITY",
         "Schema name of L2A_QUALITY.xml.", since="2.10", exposed=False),
    _l2a("Scene_Classification/Filters/Median_Filter", "median_filter", Kind.INT, 0,
         "Size of a median filter applied to the final SCL; 0 = off.", minimum=0, maximum=10),
    _l2a(f"{_LUT}/Aerosol_Type", "aerosol_type", Kind.ENUM, "RURAL",
         "Aerosol model of the look-up tables; AUTO tries both and keeps the better.",
         choices=("RURAL", "MARITIME", "AUTO")),
    _l2a(f"{_LUT}/Mid_Latitude", "mid_latitude", Kind.ENUM, "SUMMER",
         "Atmosphere profile of the look-up tables; AUTO from latitude and date.",
         choices=("SUMMER", "WINTER", "AUTO")),
    _l2a(f"{_LUT}/Ozone_Content", "ozone_content", Kind.INT, 0,
         "Ozone column in DU of the look-up table; 0 = nearest to the product's ozone.",
         choices=(0, 250, 290, 330, 331, 370, 377, 410, 420, 450, 460)),
    _l2a(f"{_FLG}/WV_Correction", "wv_correction", Kind.INT, 1,
         "Water-vapour correction: 0 = none, 1 = 940 nm band (B09).", minimum=0, maximum=1),
    _l2a(f"{_FLG}/VIS_Update_Mode", "vis_update_mode", Kind.INT, 1,
         "Visibility: 0 = constant over the scene, 1 = variable (per-pixel map).",
         choices=(0, 1)),
    _l2a(f"{_FLG}/WV_Watermask", "wv_watermask", Kind.INT, 1,
         "Water vapour over water: 0 = kept, 1 = land average, 2 = line average.",
         choices=(0, 1, 2)),
    _l2a(f"{_FLG}/Cirrus_Correction", "cirrus_correction", Kind.BOOL, False,
         "Apply the B10-based cirrus correction."),
    _l2a(f"{_FLG}/DEM_Terrain_Correction", "dem_terrain_correction", Kind.BOOL, True,
         "Use the DEM for terrain (illumination) correction, not only for AOT and WV."),
    _l2a(f"{_FLG}/BRDF_Correction", "brdf_correction", Kind.INT, 0,
         "Empirical BRDF correction mode; 0 = off.", choices=(0, 1, 2)),
    _l2a(f"{_FLG}/BRDF_Lower_Bound", "brdf_lower_bound", Kind.FLOAT, 0.22,
         "Lower bound g of the BRDF factor (0.2-0.25 usual, 0.1 for strong over-correction).",
         minimum=0.1, maximum=0.25),
    _l2a(f"{_CAL}/Adj_Km", "adj_km", Kind.FLOAT, 1.0,
         "Adjacency range in km.", minimum=0, maximum=10),
    _l2a(f"{_CAL}/Visibility", "visibility", Kind.FLOAT, 40.0,
         "Start / default visibility in km.", minimum=5, maximum=120),
    _l2a(f"{_CAL}/Altitude", "altitude", Kind.FLOAT, 0.1,
         "Ground altitude in km used without a DEM.", minimum=0, maximum=2.5),
    _l2a(f"{_CAL}/Smooth_WV_Map", "smooth_wv_map", Kind.FLOAT, 100.0,
         "Side in metres of the box smoothing the water-vapour map; 0 = no smoothing.",
         minimum=0, maximum=300),
    _l2a(f"{_CAL}/WV_Threshold_Cirrus", "wv_threshold_cirrus", Kind.FLOAT, 0.25,
         "Water vapour (cm) above which the cirrus algorithm is switched off.",
         minimum=0.1, maximum=1.0),
    _l2a(f"{_CAL}/Database_Compression_Level", "database_compression_level", Kind.INT, 0,
         "zlib level of the work databases (0 fastest, 9 smallest).", minimum=0, maximum=9),
)

# ----------------------------------------------------------------------------------- L2A_CAL_SC_GIPP

_SC = "Scene_Classification"


def _sc_ref(element: str, name: str, default: str, help: str) -> Param:
    return _p("SC", "sc", f"{_SC}/References/{element}", name, Kind.STR, default, help)


_SCL_CLASSES = (
    ("NO_DATA", 0, "no data"), ("SATURATED_DEFECTIVE", 1, "saturated or defective"),
    ("DARK_FEATURES", 2, "dark features / shadows"), ("CLOUD_SHADOWS", 3, "cloud shadows"),
    ("VEGETATION", 4, "vegetation"), ("NOT_VEGETATED", 5, "not vegetated"),
    ("WATER", 6, "water"), ("UNCLASSIFIED", 7, "unclassified"),
    ("MEDIUM_PROBA_CLOUDS", 8, "cloud, medium probability"),
    ("HIGH_PROBA_CLOUDS", 9, "cloud, high probability"), ("THIN_CIRRUS", 10, "thin cirrus"),
    ("SNOW_ICE", 11, "snow or ice"),
)

# (name, 2.11 value, what Sen2Cor 2.8 uses it for)
_THRESHOLDS = (
    ("T1_B02", 0.18, "Snow filter 3: lower limit of the B02 ramp."),
    ("T2_B02", 0.22, "Snow filter 3: upper limit of the B02 ramp."),
    ("T1_B04", 0.06, "Cloud step 1: lower limit of the B04 brightness ramp."),
    ("T2_B04", 0.25, "Cloud step 1: upper limit of the B04 brightness ramp."),
    ("T1_B8A", 0.15, "Snow filter 2: lower limit of the B8A ramp."),
    ("T2_B8A", 0.35, "Snow filter 2: upper limit of the B8A ramp."),
    ("T1_B10", 0.012, "Thin cirrus: lower limit of the B10 window."),
    ("T2_B10", 0.035, "Thin cirrus: upper limit of the B10 window (above: medium-probability "
                      "cloud)."),
    ("T1_B12", 0.25, "B12 threshold 1 (read, not used by Sen2Cor 2.8)."),
    ("T2_B12", 0.12, "B12 threshold 2 (read, not used by Sen2Cor 2.8)."),
    ("T_B02_B12", 0.018, "Cloud shadows: spectral-distance threshold (used as 1 - T)."),
    ("T_CLOUD_LP", 0.0, "Cloud probability limit of the low-probability class."),
    ("T_CLOUD_MP", 0.20, "Cloud probability limit of the medium-probability class."),
    ("T_CLOUD_HP", 0.80, "Cloud probability limit of the high-probability class."),
    ("T1_NDSI_CLD", -0.24, "Cloud step 2: lower limit of the NDSI ramp."),
    ("T2_NDSI_CLD", -0.16, "Cloud step 2: upper limit of the NDSI ramp."),
    ("T1_NDSI_SNW", 0.35, "Snow filter 1: lower limit of the NDSI ramp."),
    ("T2_NDSI_SNW", 0.50, "Snow filter 1: upper limit of the NDSI ramp."),
    ("T1_NDVI", 0.36, "Vegetation step 4: lower limit of the NDVI ramp."),
    ("T2_NDVI", 0.42, "Vegetation step 4: upper limit of the NDVI ramp; dark-vegetation recovery."),
    ("T1_SNOW", 0.12, "Snow filter 5: snow where the confidence exceeds this."),
    ("T2_SNOW", 0.25, "Snow filter 5: ring pixels with B12 below this."),
    ("T1_R_B02_B04", 0.85, "Snow filter 4: lower limit of the B02/B04 ramp."),
    ("T2_R_B02_B04", 0.95, "Snow filter 4: upper limit of the B02/B04 ramp."),
    ("T1_R_B8A_B03", 1.50, "Senescing vegetation: lower limit of the B8A/B03 ramp (step "
                           "disabled)."),
    ("T2_R_B8A_B03", 2.50, "Senescing vegetation: upper limit of the B8A/B03 ramp; "
                           "dark-vegetation recovery."),
    ("T1_R_B8A_B11", 0.90, "Rocks/sand: lower limit of the B8A/B11 ramp."),
    ("T2_R_B8A_B11", 1.10, "Rocks/sand: upper limit of the B8A/B11 ramp."),
    ("T11_B02", -0.40, "Soil: slope of the B02 threshold line."),
    ("T12_B02", 0.46, "Soil: intercept of the B02 threshold line."),
    ("T11_R_B02_B11", 0.70, "Soil: lower limit of the B02/B11 ramp."),
    ("T12_R_B02_B11", 1.0, "Soil: upper limit of the B02/B11 ramp."),
    ("T21_R_B02_B11", 2.00, "Water: lower limit of the B02/B11 ramp."),
    ("T22_R_B02_B11", 4.00, "Water: upper limit of the B02/B11 ramp; water recovery."),
    ("T21_B12", 0.1, "Water: slope of the B12 threshold line."),
    ("T22_B12", -0.09, "Water: intercept of the B12 threshold line."),
    ("RV_B2", 6.96000, "Shadow reference spectrum, B02 (read, not used by Sen2Cor 2.8)."),
    ("RV_B3", 5.26667, "Shadow reference spectrum, B03 (read, not used by Sen2Cor 2.8)."),
    ("RV_B4", 5.37708, "Shadow reference spectrum, B04 (read, not used by Sen2Cor 2.8)."),
    ("RV_B8", 7.52000, "Shadow reference spectrum, B08 (read, not used by Sen2Cor 2.8)."),
    ("RV_B11", 5.45000, "Shadow reference spectrum, B11 (read, not used by Sen2Cor 2.8)."),
    ("RV_B12", 2.55000, "Shadow reference spectrum, B12 (read, not used by Sen2Cor 2.8)."),
    ("T_SDW", 0.75, "Shadow threshold (read, not used by Sen2Cor 2.8)."),
)

_SC_PARAMS = (
    _sc_ref("Snow_Map", "snow_map", "GlobalSnowMap.tiff",
            "Global snow climatology raster (auxiliary data folder)."),
    _sc_ref("ESACCI_WaterBodies_Map", "esacci_waterbodies_map",
            "ESACCI-LC-L4-WB-Map-150m-P13Y-2000-v4.0.tif", "ESA CCI water-bodies raster (150 m)."),
    _sc_ref("ESACCI_LandCover_Map", "esacci_landcover_map",
            "ESACCI-LC-L4-LCCS-Map-300m-P1Y-2015-v2.0.7.tif", "ESA CCI land-cover raster (300 m)."),
    _sc_ref("ESACCI_SnowCondition_Map_Dir", "esacci_snowcondition_map_dir",
            "ESACCI-LC-L4-Snow-Cond-500m-MONTHLY-2000-2012-v2.4",
            "Folder of the ESA CCI monthly snow-condition rasters (500 m)."),
) + tuple(
    _p("SC", "sc.classificators", f"{_SC}/Classificators/{name}", name, Kind.INT, value,
       f"SCL value of the class '{text}'.", choices=(value,))
    for name, value, text in _SCL_CLASSES
) + tuple(
    _p("SC", "sc.thresholds", f"{_SC}/Thresholds/{name}", name, Kind.FLOAT, value, text,
       minimum=-10, maximum=10)
    for name, value, text in _THRESHOLDS
)

# ----------------------------------------------------------------------------------- L2A_CAL_AC_GIPP

_FWHM = (0.020, 0.065, 0.035, 0.030, 0.015, 0.015, 0.020, 0.115, 0.020, 0.020, 0.030, 0.090, 0.180)
_WAVELENGTH = (0.443, 0.490, 0.560, 0.665, 0.705, 0.740, 0.783, 0.842, 0.865, 0.945, 1.375,
               1.610, 2.190)
_C1 = (0.001,) * 10 + (0.0005, 0.0002, 0.00005)
_WL = "Sensor/Calibration/Band_List/wavelength"


def _ac(path: str, name: str, kind: Kind, default: Any, help: str, **extra: Any) -> Param:
    return _p("AC", "ac", path, name, kind, default, help, **extra)


def _acl(prio: int, element: str, default: Any, help: str, lo: float, hi: float,
         kind: Kind = Kind.FLOAT, name: Optional[str] = None) -> Param:
    python_name = name or element[3:].lower()     # AC_Min_Ddv_Area -> min_ddv_area
    return _ac(f"ACL_Prio_{prio}/{element}", python_name, kind, default, help,
               minimum=lo, maximum=hi)


_AC_PARAMS = (
    _ac("Flags/Scaling_Limiter", "scaling_limiter", Kind.BOOL, True,
        "Clip the blue path-radiance scale factor to [min_sc_blu, max_sc_blu]."),
    _ac("Flags/Scaling_Disabler", "scaling_disabler", Kind.BOOL, True,
        "Skip the blue path-radiance rescaling entirely."),
    _ac("Flags/Rho_Retrieval_Step2", "rho_retrieval_step2", Kind.BOOL, True,
        "Run the second reflectance pass (adjacency, multiple terrain reflection)."),
    _ac("References/Lib_Dir", "lib_dir", Kind.STR, "lib", "Look-up-table folder base name."),
    _ac("Sensor/Resolution/Band_List/fwhm", "fwhm", Kind.FLOAT_LIST, _FWHM,
        "Band widths (FWHM, um) in the order B01..B12 with B8A after B08.",
        minimum=0, maximum=1, length=13),
    _ac("Sensor/Calibration/min_sc_blu", "min_sc_blu", Kind.FLOAT, 0.9,
        "Lower limit of the blue path-radiance scale factor.",
        minimum=0, maximum=1, min_exclusive=True, max_exclusive=True),
    _ac("Sensor/Calibration/max_sc_blu", "max_sc_blu", Kind.FLOAT, 1.1,
        "Upper limit of the blue path-radiance scale factor.",
        minimum=1, maximum=2, min_exclusive=True, max_exclusive=True),
    _ac(_WL, "wavelength", Kind.FLOAT_LIST, _WAVELENGTH,
        "Band centre wavelengths (um), B01..B12 with B8A after B08.",
        minimum=0, maximum=10, length=13),
    _ac(f"{_WL}@c0", "wavelength_c0", Kind.FLOAT_LIST, (0.0,) * 13,
        "Radiance calibration offsets c0 (L = c0 + c1 DN) per band.",
        minimum=0, maximum=1, length=13),
    _ac(f"{_WL}@c1", "wavelength_c1", Kind.FLOAT_LIST, _C1,
        "Radiance calibration gains c1 (L = c0 + c1 DN) per band.",
        minimum=0, maximum=1, length=13),
    _acl(1, "AC_Min_Ddv_Area", 2.0, "Minimum DDV share (% of non-water pixels) for a DDV "
         "aerosol retrieval.", 0, 100),
    _acl(1, "AC_Swir_Refl_Lower_Th", 0.01, "Lower B12 reflectance limit of DDV pixels.", 0, 1),
    _acl(1, "AC_Swir_22um_Red_Refl_Ratio", 0.5, "Red / B12 reflectance ratio of DDV pixels.",
         0.4, 0.6),
    _acl(1, "AC_Red_Blue_Refl_Ratio", 0.5, "Blue / red reflectance ratio of DDV pixels.", -1, 1),
    _acl(1, "AC_Cut_Off_Aot_Iter_Vegetation", 0.01, "Negative-reflectance check: red "
         "threshold.", -1, 1),
    _acl(1, "AC_Cut_Off_Aot_Iter_Water", -0.005, "Negative-reflectance check: NIR (B8A) "
         "threshold.", -1, 1),
    _acl(1, "AC_Aerosol_Type_Ratio_Th", 0.05, "Minimum deviation of the blue scale factor "
         "from 1 for rescaling.", -1, 1),
    _acl(1, "AC_Topo_Corr_Th", 0.01, "Flat-terrain rule: fraction of steep pixels.", 0, 1),
    _acl(1, "AC_Slope_Th", 6.0, "Flat-terrain rule: slope in degrees that counts as steep.",
         0, 90),
    _acl(1, "AC_Dem_P2p_Val", 50.0, "Flat-terrain rule: DEM peak-to-peak range in metres.",
         0, 300),
    _acl(2, "AC_Swir_Refl_Ndvi_Th", 0.10, "DDV: minimum TOA NDVI.", 0, 1),
    _acl(2, "AC_Ddv_Swir_Refl_Th1", 0.05, "DDV: first upper limit of B12 reflectance.", 0, 1),
    _acl(2, "AC_Ddv_Swir_Refl_Th2", 0.10, "DDV: second upper limit of B12 reflectance.", 0, 1),
    _acl(2, "AC_Ddv_Swir_Refl_Th3", 0.12, "DDV: third upper limit of B12 reflectance.", 0, 1),
    _acl(2, "AC_Ddv_16um_Refl_Th1", 0.10, "DDV: upper limit of TOA red reflectance.", 0, 1,
         name="ddv_16um_refl_th1"),
    _acl(2, "AC_Ddv_16um_Refl_Th2", 0.15, "DDV: 1.6 um reflectance threshold 2.", 0, 1,
         name="ddv_16um_refl_th2"),
    _acl(2, "AC_Ddv_16um_Refl_Th3", 0.18, "DDV: 1.6 um reflectance threshold 3.", 0, 1,
         name="ddv_16um_refl_th3"),
    _acl(2, "AC_Dbv_Nir_Refl_Th", 0.35, "Dark-bright-vegetation fallback: NIR threshold.", 0, 1),
    _acl(2, "AC_Dbv_Ndvi_Th", 0.66, "Dark-bright-vegetation fallback: NDVI threshold.", 0, 1),
    _acl(2, "AC_Red_Ref_Refl_Th", 0.02, "DBV fallback: assumed red reflectance of the darkest "
         "pixels.", 0, 1),
    _acl(2, "AC_Dbv_Red_Veget_Tst_Ndvi_Th", 0.40, "DBV red-vegetation test: NDVI threshold.",
         0, 1),
    _acl(2, "AC_Dbv_Red_Veget_Refl_Th", 0.15, "DBV red-vegetation test: reflectance "
         "threshold.", 0, 1),
    _acl(2, "AC_Wv_Iter_Start_Summer", 1.0, "Start water vapour (cm) of the iteration, "
         "summer.", 0, 5),
    _acl(2, "AC_Wv_Iter_Start_Winter", 0.4, "Start water vapour (cm) of the iteration, "
         "winter.", 0, 5),
    _acl(2, "AC_Rng_Nbhd_Terrain_Corr", 0.5, "Neighbourhood radius (km) for terrain "
         "reflectance.", 0, 1),
    _acl(2, "AC_Max_Nr_Topo_Iter", 3, "Maximum number of terrain-correction iterations.",
         0, 9, kind=Kind.INT),
    _acl(2, "AC_Topo_Corr_Cutoff", 1.5, "Upper cut-off of the retrieved reflectance in "
         "terrain correction step 1.", 0, 10),
    _acl(2, "AC_Vegetation_Index_Th", 3.0, "BRDF: NIR/red ratio that marks vegetation.", 1, 10),
    _acl(3, "AC_Limit_Area_Path_Rad_Scale", 0.0, "Limit of the area for path-radiance "
         "scaling and haze/DDV/DBV tests.", 0, 90),
    _acl(3, "AC_Ddv_Smooting_Window", 1.0, "Smoothing length (km) of the visibility map "
         "(element name spelt as in Sen2Cor).", 0, 10, name="ddv_smoothing_window"),
    _acl(3, "AC_Terrain_Refl_Start", 0.1, "Start value of the terrain (neighbour) "
         "reflectance.", 0, 1),
    _acl(3, "AC_Spr_Refl_Percentage", 0.25, "Stop criterion of the path-radiance rescaling "
         "(share of DDV pixels).", 0, 1),
    _acl(3, "AC_Spr_Refl_Promille", 0.3, "Stop criterion of the path-radiance rescaling "
         "(per mille of reference pixels).", 0, 1),
)

# ----------------------------------------------------------------------------------- L2A_PB_GIPP


def _pb(path: str, name: str, default: str, help: str, pattern: Optional[str] = None) -> Param:
    return _p("PB", "pb", path, name, Kind.STR, default, help, pattern=pattern)


_PB_PARAMS = (
    _pb("DATA/Idp_Sc_List@workflow", "workflow", "l2a", "Workflow the processor entry is for."),
    _pb("DATA/Idp_Sc_List/Idp_Sc_Name", "idp_sc_name", "Sen2Cor", "Name of the processor."),
    _pb("DATA/Idp_Sc_List/Idp_Sc_Version", "idp_sc_version", "02.11.00",
        "Processor version (dd.dd.dd).", pattern=r"[0-9]{2}\.[0-9]{2}\.[0-9]{2}"),
    _pb("DATA/Baseline_Version", "baseline_version", "02.11",
        "Processing baseline written in product names (02.11 gives N0211).",
        pattern=r"[0-9]{2}\.[0-9]{2}"),
)

# ----------------------------------------------------------------------------------- indexes

PARAMETERS: Tuple[Param, ...] = _L2A_PARAMS + _SC_PARAMS + _AC_PARAMS + _PB_PARAMS

BY_NAME: Dict[str, Param] = {p.name: p for p in PARAMETERS}


def _build_lookup() -> Dict[str, Param]:
    lookup: Dict[str, Param] = {}
    for param in PARAMETERS:
        for key in {param.name.lower(), param.element.lower(), param.path.lower()}:
            other = lookup.get(key)
            if other is not None and other is not param:
                raise AssertionError(
                    f"parameter key {key!r} is ambiguous: {other.path}, {param.path}")
            lookup[key] = param
    return lookup


_LOOKUP = _build_lookup()
assert len(BY_NAME) == len(PARAMETERS), "Python names must be unique"


def find_param(key: str) -> Optional[Param]:
    """Declaration for a Python name, element name or element path (case-insensitive)."""
    return _LOOKUP.get(key.strip().lstrip("-").lower()) if isinstance(key, str) else None


def params_of(gipp: str) -> Tuple[Param, ...]:
    """Declarations of one file, in file order."""
    return tuple(p for p in PARAMETERS if p.gipp == gipp)


def params_in_group(group: str) -> Tuple[Param, ...]:
    """Declarations that make up one model group, in file order."""
    return tuple(p for p in PARAMETERS if p.group == group)


def user_parameters(include_internal: bool = False) -> Tuple[Param, ...]:
    """User parameters of L2A_GIPP.xml for front-ends (dialog fields, CLI flags).

    Schema names and PSD_Scheme blocks are kept in the model for round-trips but are not
    something a user sets; they are left out unless `include_internal`.
    """
    return tuple(p for p in PARAMETERS if p.user and (p.exposed or include_internal))


def default_values() -> Dict[str, Any]:
    """Typed 2.11 default of every parameter, by Python name."""
    return {p.name: p.default for p in PARAMETERS}
