"""core/config: the four GIPP files, validation, the typed model, SEN2COR_HOME and CLI flags."""
import argparse
import dataclasses
import logging
import pickle
from pathlib import Path

import pytest
from lxml import etree

from sen2cor_qgis.core.config import (
    GIPP_FILES, GIPP_KEYS, PARAMETERS, Kind, PsdScheme, Sen2CorConfig, add_override_arguments,
    apply_overrides, config_values, config_xml_bytes, default_config, default_gipp_path,
    ensure_user_gipp, find_param, load_config, outdated_problems, overrides_from_args,
    read_gipp, resolve_gipp_path, sen2cor_home, user_config_dir, user_parameters, write_config)
from sen2cor_qgis.core.config.cli_args import SEN2COR_OPTIONS
from sen2cor_qgis.core.config.model import get_value
from sen2cor_qgis.core.errors import ConfigError
from sen2cor_qgis.core.version import SEN2COR_VERSION

POST_28 = ("Common_Section/Region_Of_Interest", "Common_Section/Product_DOI",
           "Common_Section/Product_Generator", "Common_Section/Force_Exit_On_DEM_Error",
           "Common_Section/Handle_L1C_QLT_Mask", "Common_Section/PSD_Version",
           "Common_Section/QI_Scheme")


# ----------------------------------------------------------------------------------- helpers

def _tree(key):
    return etree.parse(str(default_gipp_path(key)))


def _find(root, path):
    node = root
    for step in path.split("/"):
        node = next(c for c in node if isinstance(c.tag, str) and c.tag == step)
    return node


def _save(tree, tmp_path, key, name=None):
    target = tmp_path / (name or GIPP_FILES[key].file_name)
    tree.write(str(target), xml_declaration=True, encoding="UTF-8")
    return target


def _edited(tmp_path, key, path, text, name=None):
    """A copy of a default file with one element's text replaced."""
    tree = _tree(key)
    _find(tree.getroot(), path).text = text
    return _save(tree, tmp_path, key, name)


def _without(tmp_path, key, paths, name=None):
    """A copy of a default file with elements removed (all occurrences)."""
    tree = _tree(key)
    for path in paths:
        parent_path, _, leaf = path.rpartition("/")
        parent = _find(tree.getroot(), parent_path) if parent_path else tree.getroot()
        for child in [c for c in parent if c.tag == leaf]:
            parent.remove(child)
    return _save(tree, tmp_path, key, name)


def _leaf_paths(key):
    """Every value-carrying element path of a file (repeated elements once)."""
    root = _tree(key).getroot()
    paths = []

    def walk(node, prefix):
        children = [c for c in node if isinstance(c.tag, str)]
        if not children:
            if prefix not in paths:
                paths.append(prefix)
            return
        for child in children:
            walk(child, f"{prefix}/{child.tag}" if prefix else child.tag)

    walk(root, "")
    return paths


def _error(call, *args, **kwargs):
    with pytest.raises(ConfigError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# ----------------------------------------------------------------------------------- defaults

def test_default_files_have_sen2cor_roots_and_schema_locations():
    for key in GIPP_KEYS:
        root = _tree(key).getroot()
        assert root.tag == GIPP_FILES[key].root
        xsi = "{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation"
        assert root.get(xsi) == GIPP_FILES[key].file_name.replace(".xml", ".xsd")


def test_defaults_equal_reference_values():
    cfg = default_config()
    assert cfg.log_level == "INFO"
    assert cfg.nr_threads == "AUTO"
    assert (cfg.roi_row0, cfg.roi_col0, cfg.roi_nrow_win, cfg.roi_ncol_win) == ("OFF", "OFF", 1200, 1200)
    assert cfg.product_doi == "https://doi.org/10.5270/S2_-znk9xsj"
    assert cfg.product_generator == "NONE"
    assert cfg.dem_directory == "NONE" and cfg.dem_reference == "NONE"
    assert cfg.generate_dem_output is False and cfg.force_exit_on_dem_error is False
    assert cfg.generate_tci_output is True and cfg.generate_ddv_output is False
    assert cfg.handle_l1c_qlt_mask is False and cfg.downsample_20_to_60 is True
    assert cfg.psd_version == "DEFAULT"
    assert [s.psd_version for s in cfg.psd_schemes] == ["14.2", "14.6", "14.7", "14.8", "14.9"]
    assert cfg.psd_schemes[-1].psd_reference == "S2-PDGS-TAS-DI-PSD-V14.9_Schema"
    assert cfg.psd_schemes[0].ds_scheme_2a == "S2_PDI_Level-2A_Datastrip_Metadata"
    assert (cfg.gipp_scheme, cfg.sc_scheme, cfg.ac_scheme, cfg.pb_scheme, cfg.qi_scheme) == (
        "L2A_GIPP", "L2A_CAL_SC_GIPP", "L2A_CAL_AC_GIPP", "L2A_PB_GIPP", "L2A_QUALITY")
    assert cfg.median_filter == 0
    assert (cfg.aerosol_type, cfg.mid_latitude, cfg.ozone_content) == ("RURAL", "SUMMER", 0)
    assert (cfg.wv_correction, cfg.vis_update_mode, cfg.wv_watermask) == (1, 1, 1)
    assert cfg.cirrus_correction is False and cfg.dem_terrain_correction is True
    assert cfg.brdf_correction == 0 and cfg.brdf_lower_bound == 0.22
    assert cfg.adj_km == 1.0 and cfg.visibility == 40.0 and cfg.altitude == 0.1
    assert cfg.smooth_wv_map == 100.0 and cfg.wv_threshold_cirrus == 0.25
    assert cfg.database_compression_level == 0
    # scene classification calibration
    th = cfg.thresholds
    assert th is cfg.sc.thresholds
    assert (th.T1_B04, th.T2_B04, th.T_CLOUD_LP, th.T_CLOUD_MP, th.T_CLOUD_HP) == (
        0.06, 0.25, 0.0, 0.20, 0.80)
    assert (th.T1_NDSI_CLD, th.T2_NDSI_CLD, th.T1_NDSI_SNW, th.T2_NDSI_SNW) == (-0.24, -0.16, 0.35, 0.50)
    assert (th.T1_NDVI, th.T2_NDVI, th.T11_B02, th.T12_B02, th.T22_B12) == (0.36, 0.42, -0.40, 0.46, -0.09)
    assert (th.T1_B10, th.T2_B10, th.T_B02_B12, th.RV_B3, th.RV_B4, th.T_SDW) == (
        0.012, 0.035, 0.018, 5.26667, 5.37708, 0.75)
    assert cfg.classificators.NO_DATA == 0 and cfg.classificators.WATER == 6
    assert cfg.sc.classificators.SNOW_ICE == 11 and cfg.sc.classificators.THIN_CIRRUS == 10
    assert cfg.sc.snow_map == "GlobalSnowMap.tiff"
    assert cfg.sc.esacci_snowcondition_map_dir == "ESACCI-LC-L4-Snow-Cond-500m-MONTHLY-2000-2012-v2.4"
    # atmospheric correction calibration (the XML values, not the XSD defaults)
    ac = cfg.ac
    assert (ac.scaling_limiter, ac.scaling_disabler, ac.rho_retrieval_step2) == (True, True, True)
    assert ac.lib_dir == "lib"
    assert ac.min_ddv_area == 2.0 and ac.swir_refl_lower_th == 0.01
    assert ac.cut_off_aot_iter_water == -0.005 and ac.aerosol_type_ratio_th == 0.05
    assert ac.topo_corr_th == 0.01 and ac.dbv_red_veget_tst_ndvi_th == 0.40
    assert ac.max_nr_topo_iter == 3 and isinstance(ac.max_nr_topo_iter, int)
    assert ac.ddv_smoothing_window == 1.0 and ac.limit_area_path_rad_scale == 0.0
    assert (ac.wv_iter_start_summer, ac.wv_iter_start_winter) == (1.0, 0.4)
    assert (ac.min_sc_blu, ac.max_sc_blu) == (0.9, 1.1)
    assert len(ac.fwhm) == 13 and ac.fwhm[7] == 0.115 and ac.fwhm[-1] == 0.180
    assert ac.wavelength[8] == 0.865 and ac.wavelength[-1] == 2.190
    assert ac.wavelength_c0 == (0.0,) * 13
    assert ac.wavelength_c1[:10] == (0.001,) * 10 and ac.wavelength_c1[10:] == (0.0005, 0.0002, 0.00005)
    # processing baseline
    assert (cfg.pb.workflow, cfg.pb.idp_sc_name, cfg.pb.idp_sc_version, cfg.pb.baseline_version) == (
        "l2a", "Sen2Cor", "02.11.00", "02.11")


def test_declaration_defaults_equal_default_files():
    cfg = default_config()
    values = config_values(cfg)
    for param in PARAMETERS:
        assert values[param.name] == param.default, param.path


def test_every_declared_parameter_is_in_the_files_and_vice_versa():
    for key in GIPP_KEYS:
        declared = {p.element_path for p in PARAMETERS if p.gipp == key and not p.attribute}
        for param in (p for p in PARAMETERS if p.gipp == key and p.attribute):
            element = _find(_tree(key).getroot(), param.element_path)
            assert element.get(param.attribute) is not None, param.path
        psd_children = {f"Common_Section/PSD_Scheme/{c}" for c in (
            "UP_Scheme_1C", "UP_Scheme_2A", "Tile_Scheme_1C", "Tile_Scheme_2A",
            "DS_Scheme_1C", "DS_Scheme_2A")}
        leaves = set(_leaf_paths(key)) - psd_children
        assert leaves == declared - {"Common_Section/PSD_Scheme"}, key
        content = read_gipp(default_gipp_path(key), key)
        assert not content.defaulted and not content.unknown and not content.outdated


def test_declarations_are_complete_and_consistent():
    names = [p.name for p in PARAMETERS]
    assert len(names) == len(set(names))
    for p in PARAMETERS:
        assert p.help and p.help.endswith("."), p.path
        assert p.gipp in GIPP_FILES and p.user == (p.gipp == "L2A")
        if p.kind is Kind.ENUM:
            assert p.default in p.choices
    post = {p.path for p in PARAMETERS if p.post_28}
    assert all(any(path.startswith(prefix) for prefix in POST_28) for path in post)
    assert len(post) == 10
    assert find_param("Aerosol_Type") is find_param("aerosol_type") is find_param(
        "Atmospheric_Correction/Look_Up_Tables/Aerosol_Type")
    assert find_param("AC_Ddv_Smooting_Window").name == "ddv_smoothing_window"


def test_user_parameters_listing_for_front_ends():
    params = user_parameters()
    assert all(p.user for p in params)
    names = [p.name for p in params]
    assert "aerosol_type" in names and "roi_row0" in names and "nr_threads" in names
    assert "psd_schemes" not in names and "gipp_scheme" not in names
    assert len(user_parameters(include_internal=True)) == len([p for p in PARAMETERS if p.user])


# ----------------------------------------------------------------------------------- round trip

def test_round_trip_defaults_identical(tmp_path):
    cfg = default_config()
    paths = write_config(cfg, tmp_path / "out")
    for key in GIPP_KEYS:
        assert paths[key].read_bytes() == default_gipp_path(key).read_bytes()
    again = load_config(*(paths[k] for k in GIPP_KEYS), home=tmp_path / "home")
    assert again == cfg


def test_round_trip_keeps_modified_values_and_conventions(tmp_path):
    cfg = apply_overrides(default_config(), {
        "Aerosol_Type": "MARITIME", "nr_threads": 4, "Cirrus_Correction": True,
        "visibility": 23.5, "T1_B04": 0.07, "Scaling_Disabler": False, "fwhm": [0.02] * 13,
        "wavelength_c1": [0.00002] * 13, "baseline_version": "05.10", "row0": 600, "col0": 1200})
    cfg = dataclasses.replace(cfg, psd_schemes=cfg.psd_schemes[:2])
    paths = write_config(cfg, tmp_path)
    again = load_config(*(paths[k] for k in GIPP_KEYS), home=tmp_path / "home")
    assert again == cfg
    assert again.aerosol_type == "MARITIME" and again.thresholds.T1_B04 == 0.07
    assert again.ac.scaling_disabler is False and again.pb.baseline_version == "05.10"
    assert [s.psd_version for s in again.psd_schemes] == ["14.2", "14.6"]
    l2a = paths["L2A"].read_text()
    assert "<Cirrus_Correction>TRUE</Cirrus_Correction>" in l2a
    assert "<Visibility>23.5</Visibility>" in l2a and "<row0>600</row0>" in l2a
    ac = paths["AC"].read_text()
    assert "<Scaling_Disabler>false</Scaling_Disabler>" in ac
    assert "<Scaling_Limiter>true</Scaling_Limiter>" in ac
    assert 'c1="0.00002"' in ac  # decimals, never exponent form
    assert config_xml_bytes(cfg, "PB") == paths["PB"].read_bytes()


def test_numbers_with_exponents_are_read(tmp_path):
    path = _edited(tmp_path, "L2A", "Atmospheric_Correction/Calibration/Visibility", "4.5E1")
    assert read_gipp(path, "L2A").values["visibility"] == 45.0
    path = _edited(tmp_path, "L2A", "Scene_Classification/Filters/Median_Filter", "3e0")
    assert read_gipp(path, "L2A").values["median_filter"] == 3


def test_model_is_frozen_and_picklable():
    cfg = default_config()
    assert pickle.loads(pickle.dumps(cfg)) == cfg
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.visibility = 10.0
    assert isinstance(cfg, Sen2CorConfig)
    assert "aerosol_type" in Sen2CorConfig.__doc__ and "T1_B04" in type(cfg.thresholds).__doc__
    assert cfg.threads() >= 1 and apply_overrides(cfg, {"Nr_Threads": 3}).threads() == 3
    assert not cfg.roi_enabled
    assert cfg.dem_path() is None
    assert get_value(cfg, "AC_Cut_Off_Aot_Iter_Water") == -0.005


def test_dem_path_joins_home(tmp_path):
    cfg = load_config(home=tmp_path, overrides={"DEM_Directory": "dem/CopernicusDEM90"})
    assert cfg.dem_path() == tmp_path / "dem" / "CopernicusDEM90"
    cfg = apply_overrides(cfg, {"DEM_Directory": str(tmp_path / "abs")})
    assert cfg.dem_path() == tmp_path / "abs"


# ----------------------------------------------------------------------------------- validation

def test_enum_error_names_file_element_value_and_allowed(tmp_path):
    path = _edited(tmp_path, "L2A", "Atmospheric_Correction/Look_Up_Tables/Aerosol_Type", "DESERT")
    assert _error(read_gipp, path, "L2A") == (
        f"{path}: Atmospheric_Correction/Look_Up_Tables/Aerosol_Type = 'DESERT' is not allowed "
        f"(RURAL, MARITIME, AUTO)")


def test_range_error(tmp_path):
    path = _edited(tmp_path, "L2A", "Atmospheric_Correction/Calibration/Visibility", "200")
    assert _error(read_gipp, path, "L2A") == (
        f"{path}: Atmospheric_Correction/Calibration/Visibility = '200' is out of range "
        f"(a number 5 to 120)")
    path = _edited(tmp_path, "L2A", "Atmospheric_Correction/Calibration/Visibility", "far")
    assert _error(read_gipp, path, "L2A").endswith("Visibility = 'far' is not a number (a number 5 to 120)")
    path = _edited(tmp_path, "L2A", "Common_Section/Nr_Threads", "16")
    assert _error(read_gipp, path, "L2A").endswith(
        "Common_Section/Nr_Threads = '16' is out of range (AUTO or an integer 1 to 8)")
    path = _edited(tmp_path, "L2A", "Atmospheric_Correction/Look_Up_Tables/Ozone_Content", "300")
    assert "Ozone_Content = '300' is not allowed (0, 250, 290, 330, 331" in _error(read_gipp, path, "L2A")
    path = _edited(tmp_path, "L2A", "Scene_Classification/Filters/Median_Filter", "2.5")
    assert _error(read_gipp, path, "L2A").endswith("Median_Filter = '2.5' is not an integer (an integer 0 to 10)")
    path = _edited(tmp_path, "AC", "Sensor/Calibration/min_sc_blu", "1.0")
    assert _error(read_gipp, path, "AC").endswith(
        "Sensor/Calibration/min_sc_blu = '1.0' is out of range (a number greater than 0 and less than 1)")
    path = _edited(tmp_path, "SC", "Scene_Classification/Thresholds/T1_B04", "11")
    assert "T1_B04 = '11' is out of range (a number -10 to 10)" in _error(read_gipp, path, "SC")
    path = _edited(tmp_path, "PB", "DATA/Baseline_Version", "2.11")
    assert "DATA/Baseline_Version = '2.11' is not allowed" in _error(read_gipp, path, "PB")


def test_bool_error_and_case_of_booleans(tmp_path):
    path = _edited(tmp_path, "L2A", "Common_Section/Generate_TCI_Output", "YES")
    assert _error(read_gipp, path, "L2A") == (
        f"{path}: Common_Section/Generate_TCI_Output = 'YES' is not allowed (TRUE, FALSE)")
    path = _edited(tmp_path, "AC", "Flags/Scaling_Limiter", "maybe")
    assert _error(read_gipp, path, "AC").endswith("Flags/Scaling_Limiter = 'maybe' is not allowed (true, false)")
    # SNAP's templates write the AC flags in upper case: accepted
    path = _edited(tmp_path, "AC", "Flags/Scaling_Limiter", "FALSE")
    assert read_gipp(path, "AC").values["scaling_limiter"] is False


def test_roi_rules(tmp_path):
    path = _edited(tmp_path, "L2A", "Common_Section/Region_Of_Interest/row0", "100")
    assert _error(read_gipp, path, "L2A") == (
        f"{path}: Common_Section/Region_Of_Interest/row0 = '100' is not divisible by 6 "
        f"(OFF, AUTO or an integer 0 to 10980 divisible by 6)")
    path = _edited(tmp_path, "L2A", "Common_Section/Region_Of_Interest/nrow_win", "11004")
    assert "nrow_win = '11004' is out of range" in _error(read_gipp, path, "L2A")
    # a numeric midpoint needs both coordinates
    path = _edited(tmp_path, "L2A", "Common_Section/Region_Of_Interest/row0", "600")
    assert "row0 = '600' and col0 = 'OFF' must both be integers" in _error(read_gipp, path, "L2A")
    tree = _tree("L2A")
    _find(tree.getroot(), "Common_Section/Region_Of_Interest/row0").text = "5490"
    _find(tree.getroot(), "Common_Section/Region_Of_Interest/col0").text = "5490"
    values = read_gipp(_save(tree, tmp_path, "L2A"), "L2A").values
    assert (values["roi_row0"], values["roi_col0"]) == (5490, 5490)
    path = _edited(tmp_path, "L2A", "Common_Section/Region_Of_Interest/row0", "AUTO")
    path = _edited(tmp_path, "L2A", "Common_Section/Region_Of_Interest/col0", "AUTO")
    assert read_gipp(path, "L2A").values["roi_col0"] == "AUTO"


def test_wrong_root_malformed_and_hostile_files(tmp_path):
    wrong = tmp_path / "L2A_GIPP.xml"
    wrong.write_bytes(default_gipp_path("SC").read_bytes())
    assert _error(read_gipp, wrong, "L2A") == (
        f"{wrong}: root element is <Level-2A_CAL_SC_Ground_Image_Processing_Parameter>, expected "
        f"<Level-2A_Ground_Image_Processing_Parameter> (not a L2A_GIPP.xml)")
    broken = tmp_path / "broken.xml"
    broken.write_text("<Level-2A_Ground_Image_Processing_Parameter><Common_Section>")
    message = _error(read_gipp, broken, "L2A")
    assert message.startswith(f"{broken}: malformed XML")
    hostile = tmp_path / "hostile.xml"
    hostile.write_text('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
                       "<Level-2A_Ground_Image_Processing_Parameter>&xxe;"
                       "</Level-2A_Ground_Image_Processing_Parameter>")
    message = _error(read_gipp, hostile, "L2A")
    assert message.startswith(f"{hostile}: ") and "DOCTYPE" in message
    missing = tmp_path / "nowhere.xml"
    assert _error(read_gipp, missing, "L2A") == f"{missing}: file not found"
    empty = tmp_path / "empty.xml"
    empty.write_text("")
    assert _error(read_gipp, empty, "PB") == f"{empty}: file is empty"


def test_missing_required_element_and_list_length(tmp_path):
    path = _without(tmp_path, "L2A", ["Atmospheric_Correction/Calibration/Visibility"])
    assert _error(read_gipp, path, "L2A") == (
        f"{path}: required element Atmospheric_Correction/Calibration/Visibility is missing")
    tree = _tree("AC")
    band_list = _find(tree.getroot(), "Sensor/Resolution/Band_List")
    band_list.remove([c for c in band_list if c.tag == "fwhm"][0])
    path = _save(tree, tmp_path, "AC")
    assert _error(read_gipp, path, "AC") == (
        f"{path}: Sensor/Resolution/Band_List/fwhm has 12 values, expected 13")
    path = _edited(tmp_path, "AC", "Sensor/Calibration/Band_List/wavelength", "12")
    assert "Sensor/Calibration/Band_List/wavelength[0] = '12' is out of range" in _error(read_gipp, path, "AC")


# ----------------------------------------------------------------------------------- older files

def test_sen2cor_28_style_file_loads_with_defaults_and_warning(tmp_path, caplog):
    path = _without(tmp_path, "L2A", POST_28)
    tree = etree.parse(str(path))
    _find(tree.getroot(), "Atmospheric_Correction/Look_Up_Tables/Ozone_Content").text = "331"
    common = _find(tree.getroot(), "Common_Section")
    for scheme in [c for c in common if c.tag == "PSD_Scheme"][2:]:
        common.remove(scheme)  # 2.8 knew 14.2 and 14.x only
    tree.write(str(path))
    with caplog.at_level(logging.WARNING, logger="sen2cor_qgis.core.config"):
        cfg = load_config(gip_l2a=path, home=tmp_path / "home")
    assert cfg.ozone_content == 331  # the file's own value
    assert cfg.roi_row0 == "OFF" and cfg.roi_nrow_win == 1200
    assert cfg.product_doi == "https://doi.org/10.5270/S2_-znk9xsj" and cfg.qi_scheme == "L2A_QUALITY"
    assert cfg.force_exit_on_dem_error is False and cfg.handle_l1c_qlt_mask is False
    assert cfg.psd_version == "DEFAULT"
    text = caplog.text
    assert str(path) in text and "predates Sen2Cor 2.11" in text
    for element in ("Region_Of_Interest/row0", "Product_DOI", "Force_Exit_On_DEM_Error",
                    "Handle_L1C_QLT_Mask", "PSD_Version", "QI_Scheme", "Product_Generator"):
        assert element in text
    assert "also knows 14.7, 14.8, 14.9" in text


def test_unknown_elements_warn_but_load(tmp_path, caplog):
    tree = _tree("L2A")
    common = _find(tree.getroot(), "Common_Section")
    etree.SubElement(common, "IMG_Output_Format").text = "COG"
    etree.SubElement(_find(tree.getroot(), "Atmospheric_Correction/Flags"), "Fancy_Flag").text = "1"
    path = _save(tree, tmp_path, "L2A")
    with caplog.at_level(logging.WARNING):
        content = read_gipp(path, "L2A")
    assert content.unknown == ("Common_Section/IMG_Output_Format", "Atmospheric_Correction/Flags/Fancy_Flag")
    assert "unknown elements ignored: Common_Section/IMG_Output_Format" in caplog.text
    assert content.values["aerosol_type"] == "RURAL"


def test_ac_file_with_atmospheric_correction_wrapper_loads(tmp_path):
    tree = _tree("AC")
    root = tree.getroot()
    wrapper = etree.Element("Atmospheric_Correction")
    for child in list(root):
        wrapper.append(child)
    root.append(wrapper)
    content = read_gipp(_save(tree, tmp_path, "AC"), "AC")
    assert content.values["min_ddv_area"] == 2.0 and not content.unknown


def test_old_processing_baseline_file_is_reported(tmp_path, caplog):
    tree = _tree("PB")
    _find(tree.getroot(), "DATA/Idp_Sc_List/Idp_Sc_Version").text = "02.08.00"
    _find(tree.getroot(), "DATA/Baseline_Version").text = "99.99"
    path = _save(tree, tmp_path, "PB")
    with caplog.at_level(logging.WARNING):
        cfg = load_config(gip_pb=path, home=tmp_path)
    assert cfg.pb.baseline_version == "99.99"
    assert "declares Sen2Cor 02.08.00, older than 02.11.00" in caplog.text


# ----------------------------------------------------------------------------------- overrides

def test_overrides_win_over_files_and_are_validated(tmp_path):
    path = _edited(tmp_path, "L2A", "Atmospheric_Correction/Look_Up_Tables/Aerosol_Type", "MARITIME")
    cfg = load_config(gip_l2a=path, home=tmp_path, overrides={
        "Aerosol_Type": "AUTO", "visibility": "25", "Nr_Threads": 2, "Generate_DEM_Output": True,
        "T_CLOUD_HP": 0.7, "AC_Min_Ddv_Area": 3, "Atmospheric_Correction/Flags/WV_Watermask": 2})
    assert cfg.aerosol_type == "AUTO" and cfg.visibility == 25.0 and cfg.nr_threads == 2
    assert cfg.generate_dem_output is True and cfg.thresholds.T_CLOUD_HP == 0.7
    assert cfg.ac.min_ddv_area == 3.0 and cfg.wv_watermask == 2
    assert cfg.sources.l2a == path
    assert _error(load_config, home=tmp_path, overrides={"Aerosol_Type": "DESERT"}) == (
        "override Aerosol_Type (L2A_GIPP.xml Atmospheric_Correction/Look_Up_Tables/Aerosol_Type) "
        "= 'DESERT' is not allowed (RURAL, MARITIME, AUTO)")
    assert _error(load_config, home=tmp_path, overrides={"visibility": 200.0}).endswith(
        "Visibility (L2A_GIPP.xml Atmospheric_Correction/Calibration/Visibility) = '200.0' is out "
        "of range (a number 5 to 120)")
    assert "Cirrus_Correction" in _error(load_config, home=tmp_path, overrides={"cirrus_correction": 1})
    assert "is not divisible by 6" in _error(load_config, home=tmp_path, overrides={"row0": 100})
    assert _error(load_config, home=tmp_path, overrides={"Bogus": 1}) == (
        "override 'Bogus': no such GIPP parameter")
    assert "must both be integers" in _error(load_config, home=tmp_path, overrides={"row0": 600})


# ----------------------------------------------------------------------------------- SEN2COR_HOME

def test_home_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("SEN2COR_HOME", str(tmp_path / "env_home"))
    assert sen2cor_home() == tmp_path / "env_home"
    assert sen2cor_home(tmp_path / "explicit") == tmp_path / "explicit"
    monkeypatch.delenv("SEN2COR_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert sen2cor_home() == tmp_path / "user" / "sen2cor" / SEN2COR_VERSION
    assert user_config_dir(tmp_path) == tmp_path / "cfg"


def test_first_run_copies_default_once_and_never_overwrites(tmp_path):
    home = tmp_path / "home"
    target = home / "cfg" / "L2A_GIPP.xml"
    cfg = load_config(home=home)
    assert target.read_bytes() == default_gipp_path("L2A").read_bytes()
    assert cfg.sources.l2a == target and cfg.sources.sc == default_gipp_path("SC")
    edited = _edited(tmp_path, "L2A", "Atmospheric_Correction/Calibration/Visibility", "60.0")
    target.write_bytes(edited.read_bytes())
    assert ensure_user_gipp(home) == target
    assert load_config(home=home).visibility == 60.0
    assert target.read_bytes() == edited.read_bytes()
    assert [p.name for p in (home / "cfg").iterdir()] == ["L2A_GIPP.xml"]  # no temporary left
    assert load_config(home=home, create_user_gipp=False).visibility == 40.0


def test_outdated_user_file_is_reported_and_still_used(tmp_path, caplog):
    home = tmp_path / "home"
    (home / "cfg").mkdir(parents=True)
    old = _without(tmp_path, "L2A", ["Common_Section/Product_DOI", "Common_Section/Region_Of_Interest"])
    target = home / "cfg" / "L2A_GIPP.xml"
    target.write_bytes(old.read_bytes())
    problems = outdated_problems(target)
    assert problems and "Common_Section/Product_DOI" in problems[0]
    with caplog.at_level(logging.WARNING):
        assert ensure_user_gipp(home) == target
    assert f"{target}: user configuration is older than Sen2Cor 2.11" in caplog.text
    assert "Common_Section/Region_Of_Interest/row0" in caplog.text
    assert target.read_bytes() == old.read_bytes()
    assert load_config(home=home).product_doi == "https://doi.org/10.5270/S2_-znk9xsj"
    assert outdated_problems(default_gipp_path("L2A")) == []


def test_gip_arguments_lookup(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "cfg").mkdir(parents=True)
    in_home = _edited(home / "cfg", "AC", "ACL_Prio_1/AC_Min_Ddv_Area", "5.0", name="my_ac.xml")
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    relative = _edited(elsewhere, "L2A", "Common_Section/Log_Level", "DEBUG", name="mine.xml")
    # absolute path, relative to cwd, bare name in <home>/cfg
    assert resolve_gipp_path(relative, home) == relative
    assert resolve_gipp_path("mine.xml", home, cwd=elsewhere) == elsewhere / "mine.xml"
    assert resolve_gipp_path("my_ac.xml", home, cwd=tmp_path) == in_home
    monkeypatch.chdir(elsewhere)
    cfg = load_config(gip_l2a="mine.xml", gip_ac="my_ac.xml", home=home)
    assert cfg.log_level == "DEBUG" and cfg.ac.min_ddv_area == 5.0
    assert cfg.sources.ac == in_home
    assert _error(load_config, gip_sc="nothing.xml", home=home) == (
        f"nothing.xml: GIPP file not found (neither as a path nor in {home / 'cfg'})")
    assert _error(resolve_gipp_path, "sub/nothing.xml", home) == "sub/nothing.xml: GIPP file not found"
    assert "is a folder" in _error(resolve_gipp_path, str(elsewhere), home)


# ----------------------------------------------------------------------------------- argparse

def _parser():
    parser = argparse.ArgumentParser(prog="L2A_Process")
    parser.add_argument("input_dir", nargs="?")
    parser.add_argument("--resolution", type=int, choices=[10, 20, 60])
    parser.add_argument("--debug", action="store_true")
    add_override_arguments(parser)
    return parser


def test_argparse_flags_derived_from_declarations(tmp_path):
    parser = _parser()
    group = next(g for g in parser._action_groups if g.title == "L2A_GIPP overrides")
    flags = {s for a in group._group_actions for s in a.option_strings}
    expected = {f"--{p.element}" for p in user_parameters()}
    assert flags == expected
    assert not {f.lstrip("-").lower() for f in flags} & SEN2COR_OPTIONS
    assert {"--Aerosol_Type", "--Nr_Threads", "--DEM_Directory", "--row0", "--Visibility"} <= flags
    assert "--PSD_Scheme" not in flags and "--GIPP_Scheme" not in flags
    assert "{RURAL,MARITIME,AUTO}" in parser.format_help()
    args = parser.parse_args(["S2A_MSIL1C_x.SAFE", "--resolution", "20", "--Aerosol_Type", "MARITIME",
                              "--Nr_Threads", "4", "--DEM_Directory", "dem/CopernicusDEM90",
                              "--Cirrus_Correction", "true", "--Ozone_Content", "331",
                              "--row0", "600", "--col0", "AUTO", "--Visibility", "2.5e1"])
    overrides = overrides_from_args(args)
    assert overrides == {"aerosol_type": "MARITIME", "nr_threads": 4,
                         "dem_directory": "dem/CopernicusDEM90", "cirrus_correction": True,
                         "ozone_content": 331, "roi_row0": 600, "roi_col0": "AUTO",
                         "visibility": 25.0}
    assert overrides_from_args(parser.parse_args([])) == {}
    cfg = load_config(home=tmp_path, overrides={**overrides, "roi_col0": 1200})
    assert cfg.aerosol_type == "MARITIME" and cfg.dem_directory == "dem/CopernicusDEM90"


@pytest.mark.parametrize("argv", [
    ["--Aerosol_Type", "DESERT"], ["--Aerosol_Type", "rural"], ["--Cirrus_Correction", "yes"],
    ["--Ozone_Content", "300"], ["--Nr_Threads", "12"], ["--Visibility", "200"],
    ["--row0", "100"], ["--Log_Level", "LOUD"],
])
def test_argparse_rejects_bad_values(argv, capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(argv)
    assert "argument " + argv[0] in capsys.readouterr().err


def test_override_flags_skip_options_the_parser_already_has():
    parser = argparse.ArgumentParser()
    parser.add_argument("--Visibility")
    add_override_arguments(parser)
    assert parser.parse_args(["--Visibility", "x"]).Visibility == "x"
