"""L2A_Process option parsing: every Sen2Cor 2.11 option, its validation and cross-rules."""
import subprocess
import sys
from pathlib import Path

import pytest

from sen2cor_qgis.core import cli

L1C = "S2B_MSIL1C_20230823T095559_N0509_R122_T34UCF_20230823T120234.SAFE"


@pytest.mark.parametrize(
    "argv, attribute, expected",
    [
        ([L1C], "input_dir", L1C),
        ([L1C], "mode", None),
        ([L1C], "resolution", None),
        ([L1C, "--resolution", "10"], "resolution", 10),
        ([L1C, "--resolution", "20"], "resolution", 20),
        ([L1C, "--resolution", "60"], "resolution", 60),
        ([L1C, "--output_dir", "/tmp/out"], "output_dir", "/tmp/out"),
        ([L1C, "--work_dir", "/tmp/w"], "work_dir", "/tmp/w"),
        ([L1C, "--img_database_dir", "/tmp/i"], "img_database_dir", "/tmp/i"),
        ([L1C, "--res_database_dir", "/tmp/r"], "res_database_dir", "/tmp/r"),
        ([L1C, "--processing_centre", "SGS_"], "processing_centre", "SGS_"),
        ([L1C, "--archiving_centre", "2BPS"[1:] + "_"], "archiving_centre", "BPS_"),
        ([L1C, "--processing_baseline", "02.11"], "processing_baseline", "02.11"),
        ([L1C, "--raw"], "raw", True),
        ([L1C, "--tif"], "tif", True),
        ([L1C], "tif", False),
        ([L1C, "--sc_only"], "sc_only", True),
        ([L1C, "--sc_classic"], "sc_classic", True),
        ([L1C, "--sc_cog"], "sc_cog", True),
        ([L1C, "--cr_only"], "cr_only", True),
        ([L1C, "--debug"], "debug", True),
        ([L1C, "--GIP_L2A", "my_gipp.xml"], "GIP_L2A", "my_gipp.xml"),
        ([L1C, "--GIP_L2A_SC", "sc.xml"], "GIP_L2A_SC", "sc.xml"),
        ([L1C, "--GIP_L2A_AC", "ac.xml"], "GIP_L2A_AC", "ac.xml"),
        ([L1C, "--GIP_L2A_PB", "pb.xml"], "GIP_L2A_PB", "pb.xml"),
        (["--mode", "generate_datastrip", "--datastrip", "DS", "--processing_centre", "SGS_",
          "--archiving_centre", "SGS_", "--work_dir", "w", "--output_dir", "o"], "mode", "generate_datastrip"),
        (["--mode", "process_tile", "--datastrip", "DS", "--tile", "T", "--work_dir", "w",
          "--output_dir", "o"], "tile", "T"),
    ],
)
def test_every_option_parses(argv, attribute, expected):
    args = cli.parse_args(argv)
    assert getattr(args, attribute) == expected


@pytest.mark.parametrize(
    "argv, message",
    [
        ([L1C, "--processing_centre", "SGS"], "four characters"),
        ([L1C, "--processing_centre", "sgs_"], "four characters"),
        ([L1C, "--archiving_centre", "SGS1"], "four characters"),
        ([L1C, "--processing_baseline", "2.11"], "dd.dd"),
        ([L1C, "--processing_baseline", "02.111"], "dd.dd"),
        ([L1C, "--processing_baseline", "ab.cd"], "dd.dd"),
        ([L1C, "--resolution", "30"], "invalid choice"),
        ([L1C, "--mode", "toolbox"], "invalid choice"),
        ([L1C, "--raw", "--tif"], "not allowed with"),
        ([], "input_dir is required"),
        (["--mode", "generate_datastrip", "--datastrip", "DS"], "requires --processing_centre"),
        (["--mode", "process_tile", "--datastrip", "DS", "--work_dir", "w", "--output_dir", "o"], "requires --tile"),
        ([L1C, "--cr_only", "--sc_only"], "exclude each other"),
        ([L1C, "--sc_only", "--resolution", "10"], "20 m or 60 m"),
        ([L1C, "--no_such_option"], "unrecognized arguments"),
    ],
)
def test_invalid_options_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_args(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err


def test_gipp_override_flags_are_derived_from_the_declaration():
    args = cli.parse_args([L1C, "--Aerosol_Type", "MARITIME", "--Nr_Threads", "4"])
    from sen2cor_qgis.core.config import cli_args as cli_overrides

    overrides = cli_overrides.overrides_from_args(args)
    assert overrides == {"aerosol_type": "MARITIME", "nr_threads": 4}
    with pytest.raises(SystemExit):
        cli.parse_args([L1C, "--Aerosol_Type", "DESERT"])


def test_version_and_help_run_without_qgis():
    out = subprocess.run([sys.executable, "-m", "sen2cor_qgis.core", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for option in ("--resolution", "--cr_only", "--GIP_L2A_PB", "--sc_cog", "--processing_centre"):
        assert option in out.stdout
    out = subprocess.run([sys.executable, "-m", "sen2cor_qgis.core", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and "2.11" in out.stdout


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "L2A_Process"
    assert script.is_file()
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert out.returncode == 0
