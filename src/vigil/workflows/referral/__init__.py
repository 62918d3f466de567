"""Referrals by country, their packages and the outcomes that come back."""
