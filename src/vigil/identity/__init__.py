"""Identity resolution: which accounts and selectors belong to the same person.

Engines only: plain dataclasses in and out, no store. ``profiles`` describes an account,
``aliases`` and ``features`` compare two of them (weighing each identifier by how many
accounts in the store carry it), ``reasons`` puts a pair's evidence in words, ``model``
scores candidate pairs, ``linkage`` runs the model with splink on DuckDB and ``spark`` on
Apache Spark (``dialects`` writes the same conditions for each), ``clusters`` turns scored
pairs into subjects under the analyst's constraints, ``review`` queues the pairs the model is
unsure of, and ``scoring`` places one new account without a full run.
"""
