"""on PostgreSQL, sightings' and events' references are checked once per statement

Why: PostgreSQL checks a foreign key with one trigger call per inserted row and key, and a
sighting has five, an event seven: about forty calls per provider report, which set the pace
of an ingest however fast the rows arrive (``COPY`` cannot batch them). The same promise is
kept here by statement-level triggers that read all of a statement's new rows at once
(transition tables): an insert or update naming a selector, source, case, agency or file that
does not exist is refused with SQLSTATE 23503, ``foreign_key_violation``, as before; and
deleting a row that a sighting or event still names is refused the same way. As a foreign key
does, the check locks the rows it names (``FOR KEY SHARE``, once per distinct row and
statement), so a concurrent delete of one waits for the writer and then finds it named, and a
writer naming a row being deleted waits and then finds it gone. The functions keep the
``search_path`` they were created with, so a session with another one (a data-only restore)
checks the same tables. SQLite keeps its foreign keys (its checks are index probes inside the
insert, and cheap). Ids are never rewritten, so an update of a referenced row's ``id`` is not
watched (transition tables cannot be limited to one column).

Revision ID: issue17_statement_references
Revises: issue14_event_file
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "issue17_statement_references"
down_revision = "issue14_event_file"
branch_labels = None
depends_on = None

# Child table -> (column, parent table), as the models declare them (vigil.store.models).
REFERENCES: dict[str, list[tuple[str, str]]] = {
    "sighting": [
        ("selector_id", "selector"),
        ("account_id", "selector"),
        ("source_id", "source"),
        ("case_id", "case_file"),
        ("agency_id", "agency"),
    ],
    "event": [
        ("actor_id", "selector"),
        ("target_id", "selector"),
        ("file_id", "file"),
        ("ip_id", "selector"),
        ("source_id", "source"),
        ("case_id", "case_file"),
        ("agency_id", "agency"),
    ],
}


def _parents() -> dict[str, list[tuple[str, str]]]:
    """Parent table -> (child table, column) naming it."""
    parents: dict[str, list[tuple[str, str]]] = {}
    for child, references in REFERENCES.items():
        for column, parent in references:
            parents.setdefault(parent, []).append((child, column))
    return parents


def _function(name: str, body: str) -> str:
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT
AS $body$
DECLARE
    wanted bigint;
    found bigint;
BEGIN
{body}
    RETURN NULL;
END
$body$"""


def _refuse(message: str) -> str:
    return f"RAISE EXCEPTION '{message}' USING ERRCODE = 'foreign_key_violation';"


def _child_checks(child: str) -> str:
    """Per column: the distinct rows named, against those found and locked."""
    steps = []
    for column, parent in REFERENCES[child]:
        steps.append(f"""
    SELECT count(DISTINCT {column}) INTO wanted FROM vigil_new_rows;
    IF wanted > 0 THEN
        SELECT count(*) INTO found FROM (
            SELECT 1 FROM {parent} p
            WHERE p.id IN (SELECT {column} FROM vigil_new_rows)
            FOR KEY SHARE OF p
        ) AS named;
        IF found < wanted THEN
            {_refuse(f"{child}.{column} names a {parent} row that does not exist")}
        END IF;
    END IF;""")
    return "".join(steps)


def _parent_checks(parent: str, children: list[tuple[str, str]]) -> str:
    named = " OR ".join(
        f"EXISTS (SELECT 1 FROM {child} c WHERE c.{column} = o.id)" for child, column in children
    )
    return f"""
    IF EXISTS (SELECT 1 FROM vigil_old_rows o WHERE {named}) THEN
        {_refuse(f"a deleted {parent} row is still named by a sighting or event")}
    END IF;"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    inspector = sa.inspect(bind)
    for child in REFERENCES:
        for key in inspector.get_foreign_keys(child):
            op.drop_constraint(str(key["name"]), child, type_="foreignkey")
        function = f"vigil_{child}_references"
        op.execute(_function(function, _child_checks(child)))
        for action in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER {function}_{action.lower()} AFTER {action} ON {child} "
                "REFERENCING NEW TABLE AS vigil_new_rows "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
    for parent, children in _parents().items():
        function = f"vigil_{parent}_still_named"
        op.execute(_function(function, _parent_checks(parent, children)))
        op.execute(
            f"CREATE TRIGGER {function} AFTER DELETE ON {parent} "
            "REFERENCING OLD TABLE AS vigil_old_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for parent in _parents():
        op.execute(f"DROP TRIGGER vigil_{parent}_still_named ON {parent}")
        op.execute(f"DROP FUNCTION vigil_{parent}_still_named()")
    for child, references in REFERENCES.items():
        for action in ("insert", "update"):
            op.execute(f"DROP TRIGGER vigil_{child}_references_{action} ON {child}")
        op.execute(f"DROP FUNCTION vigil_{child}_references()")
        for column, parent in references:
            op.create_foreign_key(f"fk_{child}_{column}_{parent}", child, parent, [column], ["id"])
