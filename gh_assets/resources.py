"""Resources shared by every domain: where the lake and the DuckDB warehouse live."""


from pathlib import Path

import dagster as dg
from pydantic import Field

from gh_assets.lake import Lake


class LakeResource(dg.ConfigurableResource):
    """The lake (raw, staged and quarantine; a folder or ``s3://bucket/prefix``) and its raw retention; marts go to DuckDB.

    Object-store credentials are not fields: botocore reads them from the standard AWS variables, so they
    never enter run config, the UI or metadata.
    """

    data_dir: str = Field(default="data", description="Set from $GH_ASSETS_DATA_DIR; relative to the working directory.")
    root: str | None = Field(
        default=None, description="Set from $GH_ASSETS_LAKE_ROOT: a folder or s3://bucket/prefix; unset: <data_dir>/lake."
    )
    raw_retention_days: int | None = Field(
        default=None, description="Set from $GH_ASSETS_RAW_RETENTION_DAYS: raw pages older than this many days are pruned by lake_retention_job; unset: kept forever."
    )

    @property
    def lake(self) -> Lake:
        return Lake(self.root or Path(self.data_dir) / "lake")
