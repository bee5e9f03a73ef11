"""Processing algorithms and the `sen2cor` provider (thin layer over `core`).

provider.py              the provider: algorithms, provider settings
base.py                  common parameters, options from parameters, running the core
l2a_process.py           L2A processing            (sen2cor:l2a_process)
scene_classification.py  scene classification only (sen2cor:scene_classification)
roi_process.py           region of interest        (sen2cor:l2a_process_roi)
product_tree.py          product tree only         (sen2cor:create_product_tree)
gipp_parameters.py       QGIS parameters generated from the core's GIPP declarations
feedback_bridge.py       progress / log / cancel of the core -> QgsProcessingFeedback
outputs.py, layers.py    raster outputs of a product; loading them into the project
roi.py                   region-of-interest window math (no QGIS)
settings.py              Processing settings of the provider
qgis_compat.py, translation.py   QGIS version differences; tr() with class context
models/l2a_ndvi.model3   example model: L2A processing, then NDVI
"""
