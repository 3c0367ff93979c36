"""The `ingest` task: a raster in, a COG, its STAC Item and a quicklook out."""
