"""Seized media and hash sets: triage, hash-set import, matching files against the banks."""
