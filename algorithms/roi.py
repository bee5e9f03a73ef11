"""Region-of-interest window math for the algorithms: the engine's own (core.roi), re-exported so
that the plugin layer and the engine share one implementation."""
from ..core.roi import (RoiError, RoiWindow, check_values, check_window, describe,  # noqa: F401
                        tile_grid, window_from_extent, window_from_pixels)
