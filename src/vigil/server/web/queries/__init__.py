"""Read models for the web workspace: what each page shows, paginated and sorted in the
database, and limited to what the acting user's agency may see (docs/web.md)."""
