"""Documents into the store: sources with provenance, parsing, sightings and events."""
