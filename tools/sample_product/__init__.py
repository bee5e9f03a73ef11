"""Deterministic generator of a realistic compact-SAFE Sentinel-2 L1C sample product.

    from sen2cor_qgis.tools.sample_product import generate_product
    safe = generate_product(tmp_path, size="tiny")

The heavy modules (GDAL) are imported only when `generate_product` is called, so that the 6S
table builder can import `spectra` and `geometry` from its own virtual environment.
"""
from __future__ import annotations


def generate_product(*args, **kwargs):
    """See `generator.generate_product`."""
    from .generator import generate_product as _generate

    return _generate(*args, **kwargs)


__all__ = ["generate_product"]
