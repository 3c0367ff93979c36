"""AWS Batch as the laptop's commands model it: job definitions and the tasks jobs run.

`local`, `submit`, `workflow` and the board read a job definition and the task it runs from
here, so that each of them reads it the way Batch and the job itself will.
"""
