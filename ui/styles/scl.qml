<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- Scene classification (SCL) of Sen2Cor Level-2A products: the 12 classes with the colour
     table commonly published for Sen2Cor (ESA SNAP / Sentinel Hub SCL palette). -->
<qgis hasScaleBasedVisibilityFlag="0" version="3.22.16-Białowieża" minScale="1e+08" maxScale="0" styleCategories="AllStyleCategories">
  <flags>
    <Identifiable>1</Identifiable>
    <Removable>1</Removable>
    <Searchable>1</Searchable>
    <Private>0</Private>
  </flags>
  <temporal enabled="0" mode="0" fetchMode="0">
    <fixedRange>
      <start></start>
      <end></end>
    </fixedRange>
  </temporal>
  <customproperties>
    <Option type="Map">
      <Option type="QString" value="Value" name="identify/format"/>
    </Option>
  </customproperties>
  <pipe-data-defined-properties>
    <Option type="Map">
      <Option type="QString" value="" name="name"/>
      <Option name="properties"/>
      <Option type="QString" value="collection" name="type"/>
    </Option>
  </pipe-data-defined-properties>
  <pipe>
    <provider>
      <resampling enabled="false" zoomedInResamplingMethod="nearestNeighbour" maxOversampling="2" zoomedOutResamplingMethod="nearestNeighbour"/>
    </provider>
    <rasterrenderer type="paletted" alphaBand="-1" nodataColor="" band="1" opacity="1">
      <minMaxOrigin>
        <limits>None</limits>
        <extent>WholeRaster</extent>
        <statAccuracy>Estimated</statAccuracy>
        <cumulativeCutLower>0.02</cumulativeCutLower>
        <cumulativeCutUpper>0.98</cumulativeCutUpper>
        <stdDevFactor>2</stdDevFactor>
      </minMaxOrigin>
      <colorPalette>
        <paletteEntry label="No data" alpha="255" color="#000000" value="0"/>
        <paletteEntry label="Saturated or defective" alpha="255" color="#ff0000" value="1"/>
        <paletteEntry label="Dark area pixels" alpha="255" color="#2f2f2f" value="2"/>
        <paletteEntry label="Cloud shadows" alpha="255" color="#643200" value="3"/>
        <paletteEntry label="Vegetation" alpha="255" color="#00a000" value="4"/>
        <paletteEntry label="Not vegetated" alpha="255" color="#ffe65a" value="5"/>
        <paletteEntry label="Water" alpha="255" color="#0000ff" value="6"/>
        <paletteEntry label="Unclassified" alpha="255" color="#808080" value="7"/>
        <paletteEntry label="Cloud medium probability" alpha="255" color="#c0c0c0" value="8"/>
        <paletteEntry label="Cloud high probability" alpha="255" color="#ffffff" value="9"/>
        <paletteEntry label="Thin cirrus" alpha="255" color="#64c8ff" value="10"/>
        <paletteEntry label="Snow or ice" alpha="255" color="#ff96ff" value="11"/>
      </colorPalette>
    </rasterrenderer>
    <brightnesscontrast contrast="0" brightness="0" gamma="1"/>
    <huesaturation colorizeOn="0" colorizeBlue="128" grayscaleMode="0" saturation="0" invertColors="0" colorizeRed="255" colorizeGreen="128" colorizeStrength="100"/>
    <rasterresampler maxOversampling="2"/>
    <resamplingStage>resamplingFilter</resamplingStage>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
