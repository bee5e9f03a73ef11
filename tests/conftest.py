"""Shared test fixtures: locations of the real Sentinel-2 files in ../shared/fixtures."""
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"
REAL_METADATA = SHARED_FIXTURES / "real_metadata"
REAL_BANDS = SHARED_FIXTURES / "real_bands"


@pytest.fixture(scope="session")
def real_metadata_dir() -> Path:
    if not REAL_METADATA.is_dir():
        pytest.fail(f"real metadata fixtures missing: {REAL_METADATA}")
    return REAL_METADATA


@pytest.fixture(scope="session")
def real_bands_dir() -> Path:
    if not REAL_BANDS.is_dir():
        pytest.fail(f"real band fixtures missing: {REAL_BANDS}")
    return REAL_BANDS


@pytest.fixture(scope="module", autouse=True)
def sen2cor_home(tmp_path_factory) -> Path:
    """SEN2COR_HOME in a temporary folder for every test module: nothing ever touches the
    user's ~/sen2cor (local Dask workers and subprocesses inherit it)."""
    path = tmp_path_factory.mktemp("sen2cor_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEN2COR_HOME", str(path))
        yield path


@pytest.fixture(scope="module")
def home(sen2cor_home: Path) -> Path:
    """The module's isolated SEN2COR_HOME (fresh: no cfg, no aux_data folder yet)."""
    return sen2cor_home


@pytest.fixture(scope="module")
def plugin(qgis_app, qgis_processing):
    """The plugin as qgis_process loads it (no iface), its provider registered."""
    from sen2cor_qgis import classFactory

    instance = classFactory(None)
    instance.initProcessing()
    assert instance.provider is not None
    yield instance
    instance.unload()
