"""boto3 clients for the operator commands, requests checked against botocore's own model,
and AWS failures turned into the runtime's exit codes with a message that names the call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtime.errors import TaskError, TransientError, UsageError, classify
from runtime.retry import retryable


def client(service: str) -> Any:
    """A client honouring AWS_ENDPOINT_URL, as every boto3 client does since 1.28."""
    import boto3

    return boto3.client(service)


def validate(service: str, operation: str, request: dict[str, Any]) -> None:
    """Refuse a request botocore would refuse, before anything is sent."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model(service)
    report = ParamValidator().validate(request, model.operation_model(operation).input_shape)
    if report.has_errors():
        raise UsageError(f"the {operation} request is invalid:\n{report.generate_report()}")


def call(fn: Callable[..., Any], what: str, **kwargs: Any) -> Any:
    """Call an AWS API; a failure becomes a TaskError naming `what` was attempted."""
    try:
        return fn(**kwargs)
    except Exception as exc:
        if retryable(exc):
            raise TransientError(f"{what} failed, try again: {exc}") from exc
        kind = classify(exc)
        if kind is None:
            if type(exc).__name__ in ("ClientException", "ValidationException", "ClientError"):
                raise UsageError(f"{what} was refused: {exc}") from exc
            if type(exc).__name__ == "ParamValidationError":
                raise UsageError(f"{what} can't be sent: {exc}") from exc
            if type(exc).__name__ == "NoCredentialsError":
                raise UsageError(f"{what} needs AWS credentials: {exc}") from exc
            raise
        if issubclass(kind, TaskError) and kind is not TransientError:
            raise kind(f"{what} failed: {exc}") from exc
        raise TransientError(f"{what} failed, try again: {exc}") from exc
