"""The operator's side: submit, schedule, and follow jobs from the terminal.

These commands talk to AWS (Batch, EventBridge Scheduler, CloudWatch Logs, S3) and import
boto3 only when they run; the worker runtime never imports this package.
"""
