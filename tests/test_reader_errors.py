"""Bad input: every refusal is one ProductError line naming the file and the problem."""
from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from sen2cor_qgis.core.errors import ProductError, UnsupportedProductError
from sen2cor_qgis.core.product.l1c_reader import read_l1c

from .test_reader_support import Spec, build_safe, product_mtd, zip_tree

OLD_FORMAT = "not supported (old standard SAFE format, PSD < 14)"


def refused(path, error=ProductError) -> str:
    """read_l1c must raise `error`; returns its one-line message."""
    with pytest.raises(error) as err:
        read_l1c(path)
    text = str(err.value)
    assert "\n" not in text and "Traceback" not in text
    return text


@pytest.fixture()
def safe(tmp_path) -> Path:
    return build_safe(tmp_path / "in", aux=False)


def test_missing_path(tmp_path):
    text = refused(tmp_path / "nowhere.SAFE")
    assert text == f"{tmp_path / 'nowhere.SAFE'}: no such file or folder"


def test_unrelated_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    assert "expected a .SAFE folder, a .zip of one, or its MTD_MSIL1C.xml" in refused(path)


def test_empty_folder(tmp_path):
    folder = tmp_path / "S2B_MSIL1C_20230823T095559_N0509_R122_T34UCF_20230823T120234.SAFE"
    folder.mkdir()
    assert refused(folder) == f"{folder}: no MTD_MSIL1C.xml in the product folder"


def test_truncated_product_metadata(safe):
    mtd = safe / "MTD_MSIL1C.xml"
    mtd.write_bytes(mtd.read_bytes()[:3000])
    text = refused(safe)
    assert text.startswith(f"{mtd}: malformed XML")


def test_truncated_tile_metadata(safe):
    tile = safe / "GRANULE" / Spec().granule_folder / "MTD_TL.xml"
    tile.write_bytes(tile.read_bytes()[:500])
    assert refused(safe).startswith(f"{tile}: malformed XML")


def test_empty_metadata_file(safe):
    (safe / "MTD_MSIL1C.xml").write_bytes(b"")
    assert refused(safe) == f"{safe / 'MTD_MSIL1C.xml'}: file is empty"


def test_entity_expansion_refused(safe):
    mtd = safe / "MTD_MSIL1C.xml"
    bomb = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n')
    body = product_mtd(Spec()).split(b"?>", 1)[1].replace(b"<PRODUCT_TYPE>S2MSI1C", b"<PRODUCT_TYPE>&lol2;S2MSI1C")
    mtd.write_bytes(bomb + body)
    assert refused(safe) == f"{mtd}: XML declares a DOCTYPE/entities, refused for safety"


def test_external_entity_refused(safe, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    mtd = safe / "MTD_MSIL1C.xml"
    head = f'<?xml version="1.0"?>\n<!DOCTYPE p [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'.encode()
    body = product_mtd(Spec()).split(b"?>", 1)[1].replace(b"<PRODUCT_TYPE>S2MSI1C", b"<PRODUCT_TYPE>&xxe;")
    mtd.write_bytes(head + body)
    text = refused(safe)
    assert "DOCTYPE" in text and "TOP-SECRET" not in text


def test_hostile_tile_metadata_refused(safe):
    tile = safe / "GRANULE" / Spec().granule_folder / "MTD_TL.xml"
    tile.write_bytes(b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY e SYSTEM "http://example.invalid/x">]>'
                     + tile.read_bytes().split(b"?>", 1)[1])
    assert refused(safe).startswith(f"{tile}: XML declares a DOCTYPE")


# -- wrong level / old format ------------------------------------------------------------------------
def test_l2a_metadata_file_given(tmp_path, real_metadata_dir):
    fixture = real_metadata_dir / "S2B_MSIL2A_N0510_T21JUK_MTD_MSIL2A.xml"
    text = refused(fixture, UnsupportedProductError)
    assert str(fixture) in text and "Level-2A" in text
    copy = tmp_path / "MTD_MSIL2A.xml"
    shutil.copyfile(fixture, copy)
    assert "Level-2A" in refused(copy, UnsupportedProductError)


def test_l2a_product_folder(tmp_path, real_metadata_dir):
    folder = tmp_path / "S2B_MSIL2A_20231217T135659_N0510_R067_T21JUK_20231217T175625.SAFE"
    folder.mkdir()
    shutil.copyfile(real_metadata_dir / "S2B_MSIL2A_N0510_T21JUK_MTD_MSIL2A.xml", folder / "MTD_MSIL2A.xml")
    assert refused(folder, UnsupportedProductError) == f"{folder}: is a Level-2A product, expected Level-1C"


def test_l2a_metadata_in_a_compact_l1c_named_folder(safe, real_metadata_dir):
    (safe / "MTD_MSIL1C.xml").unlink()
    shutil.copyfile(real_metadata_dir / "S2B_MSIL2A_N0510_T21JUK_MTD_MSIL2A.xml", safe / "MTD_MSIL2A.xml")
    assert "holds MTD_MSIL2A.xml: a Level-2A product" in refused(safe, UnsupportedProductError)


def test_l2a_content_under_the_l1c_name(safe, real_metadata_dir):
    shutil.copyfile(real_metadata_dir / "S2B_MSIL2A_N0510_T21JUK_MTD_MSIL2A.xml", safe / "MTD_MSIL1C.xml")
    text = refused(safe, UnsupportedProductError)
    assert text.startswith(str(safe / "MTD_MSIL1C.xml")) and "Level-2A" in text


def test_old_standard_safe_folder(tmp_path):
    folder = tmp_path / "S2A_OPER_PRD_MSIL1C_PDMC_20161122T190000_R122_V20161122T100336_20161122T100336.SAFE"
    folder.mkdir()
    (folder / "S2A_OPER_MTD_SAFL1C_PDMC_20161122T190000_R122_V20161122T100336_20161122T100336.xml").write_text("<x/>")
    assert refused(folder, UnsupportedProductError) == f"{folder}: {OLD_FORMAT}"


def test_old_standard_metadata_file(tmp_path):
    path = tmp_path / "S2A_OPER_MTD_SAFL1C_PDMC_20161122T190000_R122_V20161122T100336_20161122T100336.xml"
    path.write_text("<x/>")
    assert refused(path, UnsupportedProductError) == f"{path}: {OLD_FORMAT}"


def test_old_standard_granule_names(safe):
    spec = Spec()
    (safe / "GRANULE" / spec.granule_folder).rename(
        safe / "GRANULE" / "S2B_OPER_MSI_L1C_TL_2BPS_20230823T120234_A033753_T34UCF_N05.09")
    assert OLD_FORMAT in refused(safe, UnsupportedProductError)


def test_psd12_product_metadata(safe):
    (safe / "MTD_MSIL1C.xml").write_bytes(product_mtd(Spec(psd=12)))
    assert refused(safe, UnsupportedProductError).endswith(OLD_FORMAT)


# -- product tree ------------------------------------------------------------------------------------
def test_missing_granule(safe):
    granule = safe / "GRANULE" / Spec().granule_folder
    shutil.rmtree(granule)
    assert refused(safe) == f"{granule}: granule folder named in MTD_MSIL1C.xml is missing"


def test_missing_granule_folder_entirely(safe):
    shutil.rmtree(safe / "GRANULE")
    assert "granule folder named in MTD_MSIL1C.xml is missing" in refused(safe)


def test_missing_tile_metadata(safe):
    tile = safe / "GRANULE" / Spec().granule_folder / "MTD_TL.xml"
    tile.unlink()
    assert refused(safe) == f"{tile}: granule has no MTD_TL.xml"


def test_missing_band_file(safe):
    band = safe / (Spec().image_file("B07") + ".jp2")
    band.unlink()
    assert refused(safe) == f"{band}: band B07 file is missing"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_band_file(safe):
    band = safe / (Spec().image_file("B03") + ".jp2")
    band.chmod(0)
    try:
        product = read_l1c(safe)
        with pytest.raises(ProductError, match="cannot open band B03"):
            product.read_band("B03")
    finally:
        band.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_band_file_that_is_not_an_image(safe):
    band = safe / (Spec().image_file("B03") + ".jp2")
    band.write_text("this is not JPEG 2000")
    product = read_l1c(safe)
    with pytest.raises(ProductError) as err:
        product.read_band("B03")
    assert str(err.value).startswith(f"{band}: cannot open band B03")


def test_metadata_pointing_outside_the_product(safe):
    mtd = safe / "MTD_MSIL1C.xml"
    spec = Spec()
    mtd.write_bytes(mtd.read_bytes().replace(spec.image_file("B05").encode(), b"../../../etc/T34UCF_B05"))
    assert "metadata names a file outside the product: '../../../etc/T34UCF_B05.jp2'" in refused(safe)


def test_image_file_missing_from_metadata(safe):
    mtd = safe / "MTD_MSIL1C.xml"
    line = f"<IMAGE_FILE>{Spec().image_file('B06')}</IMAGE_FILE>".encode()
    mtd.write_bytes(mtd.read_bytes().replace(line, b""))
    assert refused(safe) == f"{mtd}: lists no IMAGE_FILE for band B06"


# -- archives ----------------------------------------------------------------------------------------
def _zip(path: Path, members: dict) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_zip_with_parent_member(safe, tmp_path):
    archive = zip_tree(safe, tmp_path / "evil.zip", extra={"../evil.txt": b"x"})
    text = refused(archive)
    assert text == f"{archive}: archive member '../evil.txt' escapes the archive (absolute path or '..'), refused"


def test_zip_with_nested_parent_member(safe, tmp_path):
    archive = zip_tree(safe, tmp_path / "evil.zip", extra={f"{safe.name}/GRANULE/../../x": b"x"})
    assert "escapes the archive" in refused(archive)


def test_zip_with_absolute_member(tmp_path):
    archive = tmp_path / "abs.zip"
    with zipfile.ZipFile(archive, "w") as z:
        info = zipfile.ZipInfo("x.SAFE/MTD_MSIL1C.xml")
        info.filename = "/etc/x.SAFE/MTD_MSIL1C.xml"      # zipfile strips '/' when given the name directly
        z.writestr(info, b"<x/>")
    assert "'/etc/x.SAFE/MTD_MSIL1C.xml' escapes the archive" in refused(archive)


def test_zip_with_symlink_member(tmp_path):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as z:
        info = zipfile.ZipInfo("x.SAFE/MTD_MSIL1C.xml")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, "/etc/passwd")
    assert "is a symbolic link, refused" in refused(archive)


def test_zip_without_safe(tmp_path):
    archive = _zip(tmp_path / "empty.zip", {"readme.txt": b"hello", "MTD_MSIL1C.xml": b"<x/>"})
    assert refused(archive) == f"{archive}: the archive holds no .SAFE product"


def test_zip_with_two_safes(safe, tmp_path):
    archive = zip_tree(safe, tmp_path / "two.zip", extra={"S2A_MSIL1C_other.SAFE/MTD_MSIL1C.xml": b"<x/>"})
    text = refused(archive)
    assert "holds 2 .SAFE products" in text and "expected exactly one" in text


def test_corrupt_zip(tmp_path):
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04 not really a zip")
    assert refused(archive) == f"{archive}: not a valid zip archive"


def test_zip_with_missing_granule(safe, tmp_path):
    shutil.rmtree(safe / "GRANULE" / Spec().granule_folder)
    archive = zip_tree(safe, tmp_path / "p.zip")
    text = refused(archive)
    assert text.startswith(f"/vsizip/{archive}/{safe.name}/GRANULE/") and "is missing" in text


def test_zip_with_truncated_member(safe, tmp_path):
    (safe / "MTD_MSIL1C.xml").write_bytes((safe / "MTD_MSIL1C.xml").read_bytes()[:2000])
    archive = zip_tree(safe, tmp_path / "p.zip")
    assert refused(archive).startswith(f"/vsizip/{archive}/{safe.name}/MTD_MSIL1C.xml: malformed XML")
