"""The seed's activity options: each attempt up to 60 s, retried from 1 s doubling to 60 s, five
attempts. Passed as `**SEED` to `execute_activity_method` and its local twin."""

from datetime import timedelta

from temporalio.common import RetryPolicy

SEED_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=5,
)
SEED = {"start_to_close_timeout": timedelta(seconds=60), "retry_policy": SEED_RETRY}
