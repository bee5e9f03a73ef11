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
