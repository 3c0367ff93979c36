"""Built-in tasks. They register through the project's own `batch_task.tasks` entry points,
as any other distribution's tasks do; each imports heavy libraries (rasterio, boto3) only when
the task runs, so `batch-task list` stays fast."""
