"""Referral packages: what one country's police receive, verifiable and free of media."""
