"""Built-in tasks. Each module registers its task on import and imports heavy libraries
(rasterio, boto3) only when the task runs, so `batch-task list` stays fast."""

from tasks import echo, export, ingest

__all__ = ["echo", "export", "ingest"]
