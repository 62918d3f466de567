"""Accounts and selectors into subjects: resolution, link decisions, the subject listing."""
