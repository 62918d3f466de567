"""Investigator welfare: revealing one file at a time, and metering each person's exposure.

Nothing shows evidence media except a reveal (``reveal.start_reveal``), which one person asks
for explicitly, one file at a time; it starts greyscale and blurred, and its seconds on screen
are reported back and audited. ``exposure`` sums the reveals into each person's meter and
compares it with the agency's threshold (docs/web.md).
"""
