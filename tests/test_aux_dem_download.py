"""DEM tile downloads against local HTTP servers (127.0.0.1, random port): success, 404, stalls,
truncation, server errors, credentials, cancel and concurrent runs sharing one DEM folder."""
import base64
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from osgeo import gdal

from sen2cor_qgis.core.auxdata.dem_download import (DownloadSettings, clean_stale_temporaries, fetch_tile,
                                                    redact)
from sen2cor_qgis.core.auxdata.dem_sources import MISSING_LIST, DemKind, DemTile, FolderIndex
from sen2cor_qgis.core.errors import CancelledError, DemError

from .test_aux_support import TileServer, write_copernicus, write_dted, write_srtm

FAST = DownloadSettings(timeout=0.4, retries=1, backoff=0.01, max_backoff=0.05, max_seconds=20.0,
                        chunk_size=1 << 14, lock_wait=60.0)
SRTM = DemTile(DemKind.SRTM_90, 45, 10)            # srtm_39_03


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A server root with one tile of each downloadable layout."""
    root = tmp_path_factory.mktemp("served")
    write_srtm(root, SRTM, as_zip=True)
    write_copernicus(root, DemTile(DemKind.COPERNICUS_30, 45, 10), layout="cog")
    write_copernicus(root, DemTile(DemKind.COPERNICUS_90, 45, 10), layout="tar")
    write_dted(root, DemTile(DemKind.DTED_90, 45, 10))
    return root


def leftovers(folder: Path):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name != ".locks")


def assert_valid_raster(path: Path):
    ds = gdal.Open(str(path))
    assert ds is not None and ds.GetRasterBand(1).Checksum() >= 0


def test_srtm_zip_is_downloaded_verified_extracted_and_cached(served, tmp_path):
    reports = []
    with TileServer(served) as server:
        r = fetch_tile(SRTM, tmp_path, server.url, settings=FAST, progress=lambda f, m: reports.append((f, m)))
        assert r.downloaded and r.path == tmp_path / "srtm_39_03.tif"
        assert_valid_raster(r.path)
        again = fetch_tile(SRTM, tmp_path, server.url, settings=FAST)
        assert again.path == r.path and not again.downloaded
        assert server.state.requests == ["/srtm_39_03.zip"]          # the cache answered the second call
    assert not (tmp_path / "srtm_39_03.zip").exists() and leftovers(tmp_path) == []
    assert reports and reports[-1][0] == pytest.approx(1.0) and "srtm_39_03" in reports[-1][1]


@pytest.mark.parametrize("tile,expected", [
    (DemTile(DemKind.AWS_COPERNICUS_30, 45, 10), "Copernicus_DSM_COG_10_N45_00_E010_00_DEM.tif"),
    (DemTile(DemKind.COPERNICUS_90, 45, 10), "Copernicus_DSM_30_N45_00_E010_00.tar"),
    (DemTile(DemKind.DTED_90, 45, 10), "e010_n45.dt1"),
])
def test_other_layouts_download(served, tmp_path, tile, expected):
    with TileServer(served) as server:
        r = fetch_tile(tile, tmp_path, server.url, settings=FAST)
    assert r.path == tmp_path / expected
    assert FolderIndex.scan(tmp_path).find(tile) == r.path
    assert leftovers(tmp_path) == []


def test_dted_in_the_standard_folder_layout_is_stored_flat(served, tmp_path):
    root = tmp_path / "server"
    (root / "e010").mkdir(parents=True)
    (root / "e010" / "n45.dt1").write_bytes((served / "e010_n45.dt1").read_bytes())
    with TileServer(root) as server:
        r = fetch_tile(DemTile(DemKind.DTED_90, 45, 10), tmp_path / "dem", server.url, settings=FAST)
        assert server.state.requests == ["/e010_n45.dt1", "/e010/n45.dt1"]
    assert r.path == tmp_path / "dem" / "e010_n45.dt1"


def test_404_marks_the_tile_missing_once(served, tmp_path):
    ocean = DemTile(DemKind.SRTM_90, 0, -30)
    with TileServer(served) as server:
        r = fetch_tile(ocean, tmp_path, server.url, settings=FAST)
        assert r.missing and r.path is None
        assert server.state.requests == ["/srtm_31_12.zip", "/srtm_31_12.tif"]
        assert "srtm_31_12" in (tmp_path / MISSING_LIST).read_text()
        assert fetch_tile(ocean, tmp_path, server.url, settings=FAST).missing
        assert len(server.state.requests) == 2                        # never asked again
    assert FolderIndex.scan(tmp_path).is_missing(ocean)


def test_stalled_server_times_out_with_bounded_retries(served, tmp_path):
    with TileServer(served, mode="stall") as server:
        t0 = time.monotonic()
        with pytest.raises(DemError, match=r"srtm_39_03 after 2 attempts.*no answer within 0.4 s"):
            fetch_tile(SRTM, tmp_path, server.url, settings=FAST)
        assert time.monotonic() - t0 < 5
        assert len(server.state.requests) == 2
    assert list(p for p in tmp_path.iterdir() if p.name != ".locks") == []


def test_server_stalling_in_the_body(served, tmp_path):
    with TileServer(served, mode="stall_body") as server:
        with pytest.raises(DemError, match=r"stalled: no data for 0.4 s after 1000 bytes"):
            fetch_tile(SRTM, tmp_path, server.url, settings=FAST)
    assert leftovers(tmp_path) == [] and not (tmp_path / "srtm_39_03.tif").exists()


def test_truncated_transfer_is_retried_and_then_succeeds(served, tmp_path):
    with TileServer(served, mode="truncated", failures_left=1) as server:
        r = fetch_tile(SRTM, tmp_path, server.url, settings=FAST)
        assert len(server.state.requests) == 2
    assert_valid_raster(r.path)


def test_truncated_file_with_a_matching_length_is_rejected(served, tmp_path):
    """The server declares the short length: only the zip/GDAL verification can notice."""
    with TileServer(served, mode="truncated_declared") as server:
        with pytest.raises(DemError, match=r"corrupt zip"):
            fetch_tile(SRTM, tmp_path, server.url, settings=FAST)
    assert not (tmp_path / "srtm_39_03.tif").exists() and leftovers(tmp_path) == []
    dted = DemTile(DemKind.DTED_90, 45, 10)
    with TileServer(served, mode="truncated_declared") as server:
        with pytest.raises(DemError, match=r"e010_n45.dt1"):
            fetch_tile(dted, tmp_path, server.url, settings=FAST)
    assert not (tmp_path / "e010_n45.dt1").exists()


def test_server_error_is_retried_forbidden_is_not(served, tmp_path):
    with TileServer(served, mode="500", failures_left=1) as server:
        assert fetch_tile(SRTM, tmp_path, server.url, settings=FAST).downloaded
        assert len(server.state.requests) == 2
    with TileServer(served, require_auth="Basic nobody") as server:
        with pytest.raises(DemError, match=r"HTTP 401"):
            fetch_tile(DemTile(DemKind.DTED_90, 45, 10), tmp_path / "other", server.url, settings=FAST)
        assert len(server.state.requests) == 1


def test_credentials_in_the_reference_become_basic_auth_and_are_never_shown(served, tmp_path):
    token = "Basic " + base64.b64encode(b"data_public:GDdci").decode()
    with TileServer(served, require_auth=token) as server:
        url = server.url.replace("http://", "http://data_public:GDdci@")
        assert fetch_tile(SRTM, tmp_path, url, settings=FAST).downloaded
    assert "GDdci" not in redact(url) and "data_public:***@127.0.0.1" in redact(url)


def test_cancel_between_chunks_leaves_nothing(served, tmp_path):
    cancel = threading.Event()

    def progress(fraction, message):
        if fraction > 0.1:
            cancel.set()
    with TileServer(served, delay_per_chunk=0.01) as server:
        with pytest.raises(CancelledError):
            fetch_tile(SRTM, tmp_path, server.url, settings=FAST, cancel=cancel, progress=progress)
    assert leftovers(tmp_path) == [] and not (tmp_path / "srtm_39_03.tif").exists()


def test_two_threads_share_one_download(served, tmp_path):
    results, errors = [], []

    def run():
        try:
            results.append(fetch_tile(SRTM, tmp_path, server.url, settings=FAST))
        except Exception as exc:        # pragma: no cover - reported below
            errors.append(exc)
    with TileServer(served, delay_per_chunk=0.005) as server:
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == [] and len(results) == 2
        assert server.state.requests == ["/srtm_39_03.zip"]
    assert sum(r.downloaded for r in results) == 1 and results[0].path == results[1].path
    assert_valid_raster(results[0].path)
    assert leftovers(tmp_path) == []


def test_two_processes_share_one_download(served, tmp_path):
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from sen2cor_qgis.core.auxdata.dem_download import DownloadSettings, fetch_tile\n"
        "from sen2cor_qgis.core.auxdata.dem_sources import DemKind, DemTile\n"
        "r = fetch_tile(DemTile(DemKind.SRTM_90, 45, 10), Path(sys.argv[1]), sys.argv[2],\n"
        "               settings=DownloadSettings(timeout=5, retries=1, backoff=0.01))\n"
        "print('downloaded' if r.downloaded else 'cached', r.path)\n"
    )
    with TileServer(served, delay_per_chunk=0.01) as server:
        procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path), server.url],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        assert server.state.requests == ["/srtm_39_03.zip"]
    words = sorted(o[0].split()[0] for o in outs)
    assert words == ["cached", "downloaded"]
    assert_valid_raster(tmp_path / "srtm_39_03.tif")
    assert leftovers(tmp_path) == []


def test_stale_temporaries_are_cleaned(tmp_path):
    old = tmp_path / ".srtm_39_03.zip.0123456789ab.tmp.zip"
    new = tmp_path / ".srtm_38_03.zip.ba9876543210.tmp.zip"
    old.write_bytes(b"x")
    new.write_bytes(b"x")
    import os
    os.utime(old, (time.time() - 10 * 3600,) * 2)
    assert clean_stale_temporaries(tmp_path) == 1
    assert not old.exists() and new.exists()
