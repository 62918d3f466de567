"""The triage engine on plain data: the count rules and series grouping (no store here)."""
