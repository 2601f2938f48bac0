"""Resources shared by every domain: where the lake and the DuckDB warehouse live."""


from pathlib import Path

import dagster as dg
from pydantic import Field

from gh_assets.lake import Lake


class LakeResource(dg.ConfigurableResource):
    """The data directory: ``<data_dir>/lake`` holds raw, staged and quarantine; marts go to DuckDB."""

    data_dir: str = Field(default="data", description="Set from $GH_ASSETS_DATA_DIR; relative to the working directory.")

    @property
    def lake(self) -> Lake:
        return Lake(Path(self.data_dir) / "lake")
