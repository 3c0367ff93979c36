"""The job board: a live web page over AWS Batch queues, local jobs and workflow runs.

It needs only the standard library (a threading HTTP server and Server-Sent Events), so that
`batch-task board` works wherever the runtime is installed, offline, without an extra.
"""
