"""Every account's columns held as one Arrow table, not as millions of Python objects.

``AccountColumns`` is the right shape for comparing two accounts, and the wrong one for
holding ten million: as Python objects they take about 1.5 KB an account, as Arrow columns
about a third of that, in a few large buffers the garbage collector never walks. So a
resolution builds its columns in chunks straight into Arrow, hands that table to splink
(learning and scoring) as it is, and turns rows back into ``AccountColumns`` only for the
accounts whose links it explains, a chunk at a time.

``AccountTable`` is a read-only mapping from account id to ``AccountColumns``, so what asks
for one account (the review queue, an explanation) reads it as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import fields
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from vigil.identity.features import (
    IP_CROWD_ACCOUNTS,
    AccountColumns,
    IpSeen,
    Population,
    account_columns,
)
from vigil.identity.profiles import AccountProfile

# accounts turned into Arrow at a time: large enough that Arrow's per-call costs vanish,
# small enough that the chunk's Python objects stay a few tens of megabytes
CHUNK_ACCOUNTS = 50_000

_STRINGS = pa.list_(pa.string())
_IP_SEEN = pa.list_(pa.struct([("ip", pa.string()), ("t", pa.int64()), ("n", pa.int64())]))
ALIAS_LIST_COLUMNS = (
    "alias_stems",
    "alias_long_stems",
    "alias_tokens",
    "alias_distinctive",
    "alias_rare_distinctive",
    "alias_rare_tokens",
    "alias_few_tokens",
    "alias_rare_long_stems",
    "alias_rare_stems",
)
LIST_COLUMNS = (
    *ALIAS_LIST_COLUMNS,
    "emails",
    "email_forms",
    "phones",
    "devices",
    "cameras",
    "payments",
    "files",
    "countries",
    "block_keys",
)
SCHEMA = pa.schema(
    [
        ("unique_id", pa.int64()),
        ("alias_stem", pa.string()),
        ("stem_letters", pa.int32()),
        ("platform", pa.string()),
        *((name, _STRINGS) for name in LIST_COLUMNS),
        ("ip_seen", _IP_SEEN),
        # the first address the account shares with few others: a blocking column for
        # learning (``vigil.identity.learning``), never compared
        ("rare_ip", pa.string()),
        # what only explanations and outputs need; splink never sees these
        ("key", pa.string()),
        ("alias_written", pa.string()),
        ("victim", pa.bool_()),
    ]
)
_NOT_COMPARED = ("rare_ip", "key", "alias_written", "victim")
SPLINK_COLUMNS = tuple(name for name in SCHEMA.names if name not in _NOT_COMPARED)


def _batch(columns: Sequence[AccountColumns]) -> pa.RecordBatch:
    data: list[pa.Array] = [
        pa.array([c.unique_id for c in columns], pa.int64()),
        pa.array([c.alias_stem for c in columns], pa.string()),
        pa.array([c.stem_letters for c in columns], pa.int32()),
        pa.array([c.platform for c in columns], pa.string()),
    ]
    data += [pa.array([getattr(c, name) for c in columns], _STRINGS) for name in LIST_COLUMNS]
    data.append(pa.array([[(s.ip, s.t, s.accounts) for s in c.ip_seen] for c in columns], _IP_SEEN))
    data.append(
        pa.array(
            [
                min((s.ip for s in c.ip_seen if s.accounts <= IP_CROWD_ACCOUNTS), default=None)
                for c in columns
            ],
            pa.string(),
        )
    )
    data.append(pa.array([c.key for c in columns], pa.string()))
    data.append(pa.array([c.alias_written for c in columns], pa.string()))
    data.append(pa.array([c.victim for c in columns], pa.bool_()))
    return pa.RecordBatch.from_arrays(data, schema=SCHEMA)


_FIELDS = tuple(field.name for field in fields(AccountColumns))


def _objects(table: pa.Table) -> list[AccountColumns]:
    """The table's rows as ``AccountColumns``, converted a column at a time (Arrow turns a
    column into Python objects several times faster than it turns rows into dicts)."""
    values: dict[str, list[Any]] = {}
    for name in _FIELDS:
        column = table.column(name).to_pylist()
        if name in LIST_COLUMNS:
            column = [tuple(v) for v in column]
        elif name == "ip_seen":
            column = [tuple(IpSeen(s["ip"], s["t"], s["n"]) for s in v) for v in column]
        values[name] = column
    return [AccountColumns(*row) for row in zip(*(values[n] for n in _FIELDS), strict=True)]


class AccountTable(Mapping[int, AccountColumns]):
    """Accounts' columns by account id, ordered by id (so that what is learned from them
    does not depend on the order they were read in)."""

    def __init__(self, table: pa.Table):
        ids = table.column("unique_id").to_numpy()
        if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            order = np.argsort(ids, kind="stable")
            table, ids = table.take(pa.array(order)), ids[order]
        self.table: pa.Table = table
        self.ids: np.ndarray = ids

    @classmethod
    def build(cls, profiles: Iterable[AccountProfile], population: Population) -> AccountTable:
        """Columns for ``profiles`` against ``population``, CHUNK_ACCOUNTS at a time."""
        return cls.of(account_columns(p, population) for p in profiles)

    @classmethod
    def of(cls, columns: Iterable[AccountColumns]) -> AccountTable:
        batches: list[pa.RecordBatch] = []
        chunk: list[AccountColumns] = []
        for column in columns:
            chunk.append(column)
            if len(chunk) == CHUNK_ACCOUNTS:
                batches.append(_batch(chunk))
                chunk = []
        if chunk or not batches:
            batches.append(_batch(chunk))
        return cls(pa.Table.from_batches(batches, schema=SCHEMA))

    def for_splink(self, training: bool = False) -> pa.Table:
        """The columns the model's SQL reads, with ``rare_ip`` for learning (a view: nothing
        is copied)."""
        return self.table.select([*SPLINK_COLUMNS, *(("rare_ip",) if training else ())])

    def where(self, mask: np.ndarray) -> AccountTable:
        """The accounts where ``mask`` (one bool per account, in id order) is true."""
        return AccountTable(self.table.filter(pa.array(mask)))

    def rows(self, account_ids: Iterable[int]) -> dict[int, AccountColumns]:
        """These accounts as ``AccountColumns``, read in one pass (unknown ids are left out)."""
        wanted = np.unique(np.fromiter(account_ids, dtype=np.int64))
        at = np.searchsorted(self.ids, wanted)
        inside = at < len(self.ids)
        at = at[inside][self.ids[at[inside]] == wanted[inside]]
        return {c.unique_id: c for c in _objects(self.table.take(pa.array(at)))}

    def __getitem__(self, account_id: int) -> AccountColumns:
        found = self.rows((account_id,))
        if not found:
            raise KeyError(account_id)
        return found[account_id]

    def __contains__(self, account_id: object) -> bool:
        if not isinstance(account_id, (int, np.integer)):
            return False
        at = int(np.searchsorted(self.ids, account_id))
        return at < len(self.ids) and int(self.ids[at]) == account_id

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids.tolist())

    def __len__(self) -> int:
        return len(self.ids)


def as_table(columns: AccountTable | Iterable[AccountColumns]) -> AccountTable:
    return columns if isinstance(columns, AccountTable) else AccountTable.of(columns)


def rows_of(
    columns: Mapping[int, AccountColumns], account_ids: Iterable[int]
) -> Mapping[int, AccountColumns]:
    """The columns of these accounts: from a table in one read, from anything else as is."""
    return columns.rows(account_ids) if isinstance(columns, AccountTable) else columns
