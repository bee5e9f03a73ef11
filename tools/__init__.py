"""Developer tools of sen2cor_qgis: sample-product generator, 6S table builders, benchmarks.

Importable as `sen2cor_qgis.tools` (editable install) or, from the repository root, as `tools`.
Nothing here is needed at processing time.
"""
