"""Identity resolution: which accounts and selectors belong to the same person.

Engines only: plain dataclasses in and out, no store. ``profiles`` describes an account,
``aliases`` and ``features`` compare two of them, ``model`` scores candidate pairs with
splink, ``clusters`` turns scored pairs into subjects under the analyst's constraints.
"""
