"""L2A processing of a region of interest: manual window, AUTO, a map extent or polygons."""
from qgis.core import (QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsFeatureRequest,
                       QgsProcessing, QgsProcessingException, QgsProcessingParameterEnum,
                       QgsProcessingParameterExtent, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterNumber, QgsRectangle)

from ..core.config.values import ROI_MAX
from ..core.errors import Sen2CorError
from ..core.product.l1c_reader import read_l1c
from .gipp_parameters import select_parameters
from .l2a_process import L2AProcessAlgorithm
from .roi import (RoiError, RoiWindow, check_values, check_window, describe, tile_grid,
                  window_from_extent)

MODES = ("MANUAL", "AUTO", "EXTENT", "LAYER")


class RoiProcessAlgorithm(L2AProcessAlgorithm):
    """L2A processing restricted to a window of the tile (L2A_GIPP Region_Of_Interest)."""

    ROI_MODE = "ROI_MODE"
    ROW0 = "ROW0"
    COL0 = "COL0"
    NROW_WIN = "NROW_WIN"
    NCOL_WIN = "NCOL_WIN"
    EXTENT = "EXTENT"
    POLYGONS = "POLYGONS"

    def name(self):
        return "l2a_process_roi"

    def displayName(self):  # noqa: N802
        return self.tr("L2A processing of a region of interest")

    def shortHelpString(self):  # noqa: N802
        return self.tr(
            "Level-2A processing of a window of the tile only (Sen2Cor's Region_Of_Interest).\n\n"
            "MANUAL: midpoint row and column and window height and width in 10 m pixels of the "
            "tile grid, each divisible by 6 and between 0 and 10980; the window must lie inside "
            "the tile.\nAUTO: Sen2Cor chooses the region (window size as given).\nEXTENT: the "
            "window covering a map extent.\nLAYER: the window covering the polygons of a layer "
            "(or its selected polygons).\nExtents and polygons are reprojected into the tile's "
            "coordinate system and widened to whole 60 m pixels.\n\n"
            "All other parameters are those of 'L2A processing'.")

    def gipp_selection(self):
        return select_parameters(roi=False)   # the region comes from the parameters below

    def add_mode_parameters(self):
        super().add_mode_parameters()
        self.addParameter(QgsProcessingParameterEnum(
            self.ROI_MODE, self.tr("Region of interest from"), list(MODES), False, "MANUAL",
            False, True))
        for name, label, default, minimum in (
                (self.ROW0, self.tr("Midpoint row (10 m pixels, divisible by 6)"), 5490, 0),
                (self.COL0, self.tr("Midpoint column (10 m pixels, divisible by 6)"), 5490, 0),
                (self.NROW_WIN, self.tr("Window height (10 m pixels, divisible by 6)"), 1200, 6),
                (self.NCOL_WIN, self.tr("Window width (10 m pixels, divisible by 6)"), 1200, 6)):
            self.addParameter(QgsProcessingParameterNumber(
                name, label, QgsProcessingParameterNumber.Integer, default, False, minimum, ROI_MAX))
        self.addParameter(QgsProcessingParameterExtent(
            self.EXTENT, self.tr("Map extent (mode EXTENT)"), None, True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.POLYGONS, self.tr("Polygon layer (mode LAYER)"),
            [QgsProcessing.TypeVectorPolygon], None, True))

    # -- region ---------------------------------------------------------------------------------
    def _mode(self, parameters, context) -> str:
        return self.parameterAsEnumString(parameters, self.ROI_MODE, context) or "MANUAL"

    def _manual(self, parameters, context) -> RoiWindow:
        return RoiWindow(*(self.parameterAsInt(parameters, name, context)
                           for name in (self.ROW0, self.COL0, self.NROW_WIN, self.NCOL_WIN)))

    def check_mode_parameters(self, parameters, context):
        mode = self._mode(parameters, context)
        try:
            if mode == "MANUAL":
                check_window(self._manual(parameters, context))
            elif mode == "AUTO":
                window = self._manual(parameters, context)
                check_values(nrow_win=window.nrow_win, ncol_win=window.ncol_win)
        except RoiError as exc:
            raise QgsProcessingException(self.tr("Region of interest: {0}").format(exc)) from None
        if mode == "EXTENT" and not self.gipp.is_set(parameters, self.EXTENT):
            raise QgsProcessingException(self.tr("Region of interest: mode EXTENT needs a map extent."))
        if mode == "LAYER" and not self.gipp.is_set(parameters, self.POLYGONS):
            raise QgsProcessingException(self.tr("Region of interest: mode LAYER needs a polygon layer."))

    def window_for(self, parameters, context, product=None):
        """The region of interest the parameters describe; None for AUTO (Sen2Cor decides)."""
        mode = self._mode(parameters, context)
        if mode == "AUTO":
            return None
        if product is None:
            try:
                product = read_l1c(self.check_input(parameters, context))
            except Sen2CorError as exc:
                raise QgsProcessingException(str(exc)) from None
        epsg, geotransform, rows, cols = tile_grid(product)
        try:
            if mode == "MANUAL":
                window = self._manual(parameters, context)
                check_window(window, rows, cols)
                return window
            tile_crs = QgsCoordinateReferenceSystem(f"EPSG:{epsg}")
            if mode == "EXTENT":
                if not self.gipp.is_set(parameters, self.EXTENT):
                    raise RoiError("mode EXTENT needs a map extent")
                rect = self.parameterAsExtent(parameters, self.EXTENT, context, tile_crs)
            else:
                rect = self._polygons_extent(parameters, context, tile_crs)
            return window_from_extent(rect.xMinimum(), rect.yMinimum(), rect.xMaximum(),
                                      rect.yMaximum(), geotransform, rows, cols)
        except RoiError as exc:
            raise QgsProcessingException(self.tr("Region of interest: {0}").format(exc)) from None

    def _polygons_extent(self, parameters, context, tile_crs) -> QgsRectangle:
        source = self.parameterAsSource(parameters, self.POLYGONS, context)
        if source is None:
            raise RoiError("mode LAYER needs a polygon layer")
        box, count = QgsRectangle(), 0
        for feature in source.getFeatures(QgsFeatureRequest().setNoAttributes()):
            if feature.hasGeometry() and not feature.geometry().isEmpty():
                bbox = feature.geometry().boundingBox()
                if count == 0:
                    box = QgsRectangle(bbox)
                else:
                    box.combineExtentWith(bbox)
                count += 1
        if not count:
            raise RoiError("the polygon layer has no polygons")
        if source.sourceCrs().isValid() and source.sourceCrs() != tile_crs:
            transform = QgsCoordinateTransform(source.sourceCrs(), tile_crs, context.transformContext())
            box = transform.transformBoundingBox(box)
        return box

    def mode_overrides(self, parameters, context, notes):
        window = self.window_for(parameters, context)
        if window is None:
            manual = self._manual(parameters, context)
            notes.append(self.tr("Region of interest: AUTO (window {0} x {1} pixels)").format(
                manual.nrow_win, manual.ncol_win))
            return {"roi_row0": "AUTO", "roi_col0": "AUTO",
                    "roi_nrow_win": manual.nrow_win, "roi_ncol_win": manual.ncol_win}
        notes.append(self.tr("Region of interest: {0}").format(describe(window)))
        return window.overrides()
