"""Auxiliary inputs of the processor: DEM, terrain layers, ESA CCI maps, snow climatology, CAMS.

(The folder is not called `aux`: that is a reserved file name on Windows.)

    geo          tile grid <-> longitude/latitude: footprint, pixel-centre coordinates, warping
    dem_sources  DEM tile naming and coverage (SRTM 90 m, Copernicus GLO-30/90 classic and COG,
                 PlanetDEM DTED, one user GeoTIFF/VRT); which tiles cover an L1C tile
    dem_download fetch missing tiles from DEM_Reference (streamed, verified, atomic, locked)
    dem_mosaic   seamless geographic mosaic, void filling, reprojection to the tile grid
    terrain      slope, aspect, sky-view factor, illumination cos(i), sun angles on the grid
    dem          prepare_dem(): the orchestration the pipeline calls (flat fallback, DEM output)
    esacci       ESA CCI land cover, water bodies and monthly snow condition on the tile grid
    snow         whether snow is possible on a tile (GlobalSnowMap or built-in rules)
    cams         CAMS netCDF (Sen2Cor 3 layout), interpolated in space and time
    cams_inputs  the tile's CAMS inputs of the atmospheric correction (ProcessingOptions.cams)

Everything here is pure Python + numpy/scipy/GDAL (no QGIS), and takes plain arguments so that
the pipeline, the command line and the tests call it the same way.
"""
