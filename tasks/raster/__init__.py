"""Raster plumbing the built-in tasks share: sources, GDAL configuration, writing, validating,
publishing and the rule for complete outputs."""
