"""Run one analytics job: `python -m jobs NAME --out DIR [--address ADDR] [--events ARCHIVE]
[--read-tasks N] [--shuffle-partitions N] [--progress-bars]` (the same as `smartcourse job run
NAME …`). ARCHIVE: `s3://BUCKET/PREFIX` (the Parquet event archive, read with the settings'
S3 endpoint and keys), or a folder of Parquet or JSON-lines envelopes.

Writes DIR/NAME.parquet, DIR/NAME.md and DIR/NAME.png. Ray: `--address`, else
SMARTCOURSE_RAY_ADDRESS, else a running cluster (`address="auto"`, also what a submitted job
finds), else a local Ray started for the run. The database is SMARTCOURSE_DATABASE_URL.

On a cluster, from the repository root (the working dir is uploaded, so workers import `jobs`,
`core` and `storage`; the cluster's nodes need the project's dependencies and must reach
PostgreSQL; pass settings through the job's environment):

    ray job submit --address http://HEAD:8265 --working-dir . \\
        --runtime-env-json '{"env_vars": {"SMARTCOURSE_DATABASE_URL": "postgresql+asyncpg://…"}}' \\
        -- python -m jobs funnel --out /tmp/x

or, with RAY_ADDRESS exported and the settings in the cluster's environment:

    ray job submit --working-dir . -- python -m jobs funnel --out /tmp/x

The output folder is on the node that runs the driver (the head node for a submitted job).
"""

import argparse
import sys

from core.logs import configure_logging
from core.settings import get_settings
from jobs.runner import add_job_arguments, run_from_arguments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs", description=__doc__.split("\n")[0])
    add_job_arguments(parser)
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level)
    return run_from_arguments(args, settings)


if __name__ == "__main__":
    sys.exit(main())
