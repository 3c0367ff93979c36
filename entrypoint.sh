#!/bin/sh
# The image's ENTRYPOINT. Python replaces this shell (exec) so that it is PID 1, or the child
# of the init process Batch adds with initProcessEnabled, and receives SIGTERM itself.
set -eu

export PYTHONUNBUFFERED=1               # every log line leaves at once, none lost on a kill
export PYTHONDONTWRITEBYTECODE=1        # the image's site-packages may be read-only
# GDAL's settings are not set here: tasks/raster/gdal_config.py holds every one of them, and
# a variable of the same name in the job's environment overrides it.

exec python -m runtime "$@"
