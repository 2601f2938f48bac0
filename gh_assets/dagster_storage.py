"""Dagster's SQLite event log with batched writes: the embedded default instance's event storage.

A single-run backfill of a repository over a year records one materialisation per asset per day partition.
Dagster's SQLite event log opens a new engine, connection and transaction (two of each: the run's shard and
the cross-run index) for every single event, ~25 ms each on this class of machine, so a year of three daily
assets spent ~30 s in bookkeeping against ~2 s of work. Dagster can hand a step's asset events to the storage
as a batch (``DAGSTER_EVENT_BATCH_SIZE``), but the SQLite storage then still stores them one by one (only
the PostgreSQL storage implements batches). This subclass stores a batch in one transaction per shard.

Written here because no library offers it: it is Dagster's own ``SqliteEventLogStorage.store_event``
applied to many events at once, with the same rows written. It switches on, for the processes that use
it, Dagster's batching and the one-event-per-range "materialisation planned" record
(``DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS``); either can be overridden in the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import dagster._check as check
from dagster._config import Field, StringSource
from dagster._core.events import ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlalchemy_compat import db_result
from dagster._serdes import ConfigurableClassData

BATCH_ENV = "DAGSTER_EVENT_BATCH_SIZE"
PLANNED_SUBSET_ENV = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
DEFAULT_BATCH_SIZE = "1000"


def enable_event_batching() -> None:
    """Turn on Dagster's event batching in this process unless the environment already decides."""
    os.environ.setdefault(BATCH_ENV, DEFAULT_BATCH_SIZE)
    os.environ.setdefault(PLANNED_SUBSET_ENV, "true")


class BatchedSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` whose ``store_event_batch`` writes each shard once per batch.

    ``base_dir`` defaults to Dagster's own default, ``$DAGSTER_HOME/history/runs``.
    """

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        enable_event_batching()
        super().__init__(base_dir=base_dir, inst_data=inst_data)

    @classmethod
    def config_type(cls) -> Mapping[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]) -> BatchedSqliteEventLogStorage:
        base_dir = config_value.get("base_dir")
        if not base_dir:
            home = os.environ.get("DAGSTER_HOME")
            if not home:
                raise check.CheckError("BatchedSqliteEventLogStorage: set base_dir, or DAGSTER_HOME for the default")
            base_dir = os.path.join(home, "history", "runs")
        return cls(base_dir=base_dir, inst_data=inst_data)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        events = list(events)
        run_ids = {event.run_id for event in events}
        asset_only = all(event.is_dagster_event and event.dagster_event_type in ASSET_EVENTS for event in events)
        if len(events) < 2 or len(run_ids) != 1 or not asset_only:
            super().store_event_batch(events)  # one by one, exactly as Dagster does
            return
        # The same rows SqliteEventLogStorage.store_event writes, one transaction per shard.
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(self.prepare_insert_event_batch(events))
        with self.index_transaction() as conn:
            event_ids: list[int] = []
            for event in events:
                with db_result(conn, self.prepare_insert_event(event)) as result:
                    event_ids.append(check.not_none(result.inserted_primary_key[0], "asset event id"))
            self._store_asset_event_tags(conn, events, event_ids)
            # The asset-key row holds the *last* event of each kind (last materialisation, last run, last
            # timestamp): Dagster rewrites it per event (an INSERT that fails, then an UPDATE of a serialised
            # record). Writing only the last event of each (asset, kind), in batch order, leaves the same row.
            last: dict[tuple[str | None, object], int] = {}
            for i, event in enumerate(events):
                dagster_event = event.get_dagster_event()
                asset_key = dagster_event.asset_key.to_string() if dagster_event.asset_key else None
                last[(asset_key, event.dagster_event_type)] = i
            for i in sorted(last.values()):
                self._store_asset_event(conn, events[i], event_ids[i])
