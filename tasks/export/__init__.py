"""The `export` task: rasters mosaicked, cropped to an area of interest, published as a GeoTIFF."""
