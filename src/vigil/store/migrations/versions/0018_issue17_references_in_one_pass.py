"""on PostgreSQL, a statement's references are gathered in one pass over its new rows

Why: the checks of migration 0017 read a statement's new rows twice per reference column (a
count of the distinct ids, then the join that finds and locks their parents): ten passes over
a sighting statement and fourteen over an event one, a quarter of an ingest's ``COPY`` time
(docs/benchmarks.md). Now one pass gathers each column's distinct ids into an array, and each
parent is then probed through its primary key for those ids alone. The promise and the errors
are 0017's: a missing parent is refused with SQLSTATE 23503 and the same message naming the
column, and each parent row named is locked ``FOR KEY SHARE`` once per statement. Only the
child tables' functions change; their triggers and the parents' delete checks stay.

Revision ID: issue17_references_in_one_pass
Revises: issue17_statement_references
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "issue17_references_in_one_pass"
down_revision = "issue17_statement_references"
branch_labels = None
depends_on = None


def _previous() -> ModuleType:
    """Migration 0017, whose table of references and function bodies this one builds on
    (a migration file is loaded by path, not imported as a package module)."""
    path = Path(__file__).with_name("0017_issue17_statement_references.py")
    spec = importlib.util.spec_from_file_location("vigil_migration_0017", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _child_function(name: str, references: list[tuple[str, str]], refuse: str) -> str:
    """One pass collects every column's distinct ids; then one primary-key probe per
    column, which locks the parents found."""
    arrays = [f"named_{column}" for column, _ in references]
    declared = "".join(f"    {array} bigint[];\n" for array in arrays)
    gathered = ", ".join(
        f"array_agg(DISTINCT {column}) FILTER (WHERE {column} IS NOT NULL)"
        for column, _ in references
    )
    checks = "".join(
        f"""
    IF {array} IS NOT NULL THEN
        SELECT count(*) INTO found FROM (
            SELECT 1 FROM {parent} p WHERE p.id = ANY({array}) FOR KEY SHARE OF p
        ) AS named;
        IF found < cardinality({array}) THEN
            {refuse.format(column=column, parent=parent)}
        END IF;
    END IF;"""
        for array, (column, parent) in zip(arrays, references, strict=True)
    )
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $body$
DECLARE
{declared}    found bigint;
BEGIN
    SELECT {gathered} INTO {", ".join(arrays)} FROM vigil_new_rows;{checks}
    RETURN NULL;
END
$body$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    previous = _previous()
    for child, references in previous.REFERENCES.items():
        refuse = previous._refuse(f"{child}.{{column}} names a {{parent}} row that does not exist")
        op.execute(_child_function(f"vigil_{child}_references", references, refuse))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    previous = _previous()
    for child in previous.REFERENCES:
        body = previous._function(f"vigil_{child}_references", previous._child_checks(child))
        op.execute(body.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
