#!/bin/sh
# The image's ENTRYPOINT. Python replaces this shell (exec) so that it is PID 1, or the child
# of the init process Batch adds with initProcessEnabled, and receives SIGTERM itself.
set -eu

export PYTHONUNBUFFERED=1               # every log line leaves at once, none lost on a kill
export PYTHONDONTWRITEBYTECODE=1        # the image's site-packages may be read-only
# GDAL defaults for reading from object storage: no directory listings per open, bounded
# retries of transient HTTP errors, and a block cache sized by the runtime, not 5% of the host.
export GDAL_DISABLE_READDIR_ON_OPEN="${GDAL_DISABLE_READDIR_ON_OPEN:-EMPTY_DIR}"
export CPL_VSIL_CURL_ALLOWED_EXTENSIONS="${CPL_VSIL_CURL_ALLOWED_EXTENSIONS:-.tif,.tiff,.TIF,.TIFF,.vrt,.jp2,.json,.geojson}"
export GDAL_HTTP_MAX_RETRY="${GDAL_HTTP_MAX_RETRY:-4}"
export GDAL_HTTP_RETRY_DELAY="${GDAL_HTTP_RETRY_DELAY:-1}"
export VSI_CACHE="${VSI_CACHE:-TRUE}"

exec python -m runtime "$@"
