"""Workflows: a graph of jobs in one YAML file, run locally or compiled to SubmitJob calls."""
