"""Dagster's warnings about the beta APIs this project chose on purpose, silenced one by one (never a blanket filter).

Without this, every process that loads the definitions (``dagster dev`` starts four) prints a BetaWarning per
asset and per code reference: ~200 lines that hide the ones that matter. Any other Dagster warning still shows.
"""

from __future__ import annotations

import re
import warnings

# (the start of Dagster's message, why we use the API)
CHOSEN_BETA_APIS = (
    ("Parameter `backfill_policy` of function `asset`", "single-run backfills: a range of days is one run and one paginated sweep"),
    ("Parameter `backfill_policy` of function `multi_asset`", "the same for the multi-assets (PR details, analytics)"),
    ("Function `with_source_code_references`", "code references on every asset page"),
    ("Function `link_code_references_to_git`", "the same, linked to the git host"),
    ("Class `CodeReferencesMetadataValue`", "what the two above attach to every asset"),
    ("Class `LocalFileCodeReference`", "what the two above attach to every asset"),
    ("Class `UrlCodeReference`", "what link_code_references_to_git attaches"),
    ("Class `AnchorBasedFilePathMapping`", "maps the package onto the repository for the links"),
    # Dagster's own SensorDefinition.with_updated_jobs passes `owners` on (we set none on sensors).
    ("Parameter `owners` of initializer `SensorDefinition.__init__`", "sensors re-targeted at the publishing jobs"),
)


def silence_chosen_beta_warnings() -> None:
    """Ignore exactly the messages of :data:`CHOSEN_BETA_APIS` (installed when the package is imported)."""
    for start, _why in CHOSEN_BETA_APIS:
        warnings.filterwarnings("ignore", message=re.escape(start) + r" is currently in beta")
