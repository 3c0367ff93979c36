"""AWS Batch simulated on this machine: `batch-task local` and the runs of `workflow local`."""
