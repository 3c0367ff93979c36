"""batch-task: the worker-side runtime for AWS Batch container images.

Task authors need only what this module exports:

    from runtime import task, TaskContext, InputError
"""

from runtime.context import TaskContext
from runtime.errors import (
    Cancelled,
    InputError,
    InputNotFound,
    OutputError,
    PermissionDenied,
    TaskError,
    TransientError,
    UsageError,
)
from runtime.params import Secret
from runtime.registry import task

__version__ = "0.1.0"
__all__ = [
    "Cancelled",
    "InputError",
    "InputNotFound",
    "OutputError",
    "PermissionDenied",
    "Secret",
    "TaskContext",
    "TaskError",
    "TransientError",
    "UsageError",
    "task",
]
