"""Loading result layers into the project, grouped by product, SCL with Sen2Cor's colours.

Processing loads what `QgsProcessingContext.addLayerToLoadOnCompletion` lists once the algorithm
has finished (toolbox dialog, the plugin's background task); `processing.run` and `qgis_process`
ignore the list. QGIS 3.22's `LayerDetails` has no group, so a layer post-processor moves each
layer into a group named after its product and applies the style.

Post-processor objects are called by C++ after the algorithm object may be gone: Python must
keep them alive, hence the module-level registry (each removes itself once it has run; at most
`_MAX_PENDING` are kept, the oldest are dropped).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional

from qgis.core import (QgsLayerTreeGroup, QgsMapLayer, QgsProcessingContext,
                       QgsProcessingLayerPostProcessorInterface, QgsProcessingUtils, QgsProject)

_MAX_PENDING = 256
_pending: List["ProductLayerPostProcessor"] = []


@dataclass(frozen=True)
class LayerToLoad:
    path: str
    name: str                  # layer name in the project
    output_name: str           # the algorithm output it belongs to
    group: str                 # layer-tree group (the product name)
    style: Optional[str] = None  # .qml file applied after loading


class ProductLayerPostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Applies the style and moves the layer into the product's group."""

    def __init__(self, group: str, style: Optional[str] = None) -> None:
        super().__init__()
        self.group = group
        self.style = style

    @classmethod
    def create(cls, group: str, style: Optional[str] = None) -> "ProductLayerPostProcessor":
        processor = cls(group, style)
        _pending.append(processor)
        del _pending[:-_MAX_PENDING]
        return processor

    def postProcessLayer(self, layer: QgsMapLayer, context: QgsProcessingContext, feedback):  # noqa: N802
        try:
            if self.style:
                layer.loadNamedStyle(self.style)
                layer.triggerRepaint()
            project = context.project() or QgsProject.instance()
            move_to_group(project, layer, self.group)
        finally:
            if self in _pending:
                _pending.remove(self)


def move_to_group(project: QgsProject, layer: QgsMapLayer, group_name: str) -> Optional[QgsLayerTreeGroup]:
    """Move the layer's tree node into `group_name` (created under the node's current parent)."""
    root = project.layerTreeRoot()
    node = root.findLayer(layer.id())
    if node is None:
        return None
    parent = node.parent() or root
    group = next((child for child in parent.children()
                  if isinstance(child, QgsLayerTreeGroup) and child.name() == group_name), None)
    if group is None:
        group = parent.insertGroup(0, group_name)
    if node.parent() is not group:
        group.addChildNode(node.clone())
        parent.removeChildNode(node)
    return group


def add_layers_to_load(context: QgsProcessingContext, layers: Iterable[LayerToLoad]) -> None:
    """Ask Processing to load these layers into the context's project when the run completes."""
    project = context.project() or QgsProject.instance()
    for item in layers:
        details = QgsProcessingContext.LayerDetails(item.name, project, item.output_name,
                                                    QgsProcessingUtils.LayerHint.Raster)
        details.forceName = True
        details.setPostProcessor(ProductLayerPostProcessor.create(item.group, item.style))
        context.addLayerToLoadOnCompletion(item.path, details)
