"""A pair's evidence in words and numbers: what a link record stores and an analyst reads.

Strongest evidence first; every identifier named, every count and time window stated, so the
reasons can be read back in court without the model.
"""

from __future__ import annotations

from vigil.identity.features import (
    HOME_IP_ACCOUNTS,
    RARE_ALIAS_ACCOUNTS,
    AccountColumns,
    PairEvidence,
)


def _listed(values: tuple[str, ...], limit: int = 3) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def reasons(evidence: PairEvidence, a: AccountColumns, b: AccountColumns) -> list[str]:
    """The evidence in words and numbers, strongest first; what a link record stores."""
    out: list[str] = []
    if evidence.shared_emails:
        out.append(f"same email {_listed(evidence.shared_emails)}")
    if evidence.shared_email_forms:
        out.append(
            f"email addresses that may be one mailbox {_listed(evidence.shared_email_forms)}"
        )
    if evidence.shared_phones:
        out.append(f"same phone {_listed(evidence.shared_phones)}")
    if evidence.shared_cameras:
        out.append(f"same camera serial {_listed(evidence.shared_cameras)}")
    if evidence.shared_files:
        n = len(evidence.shared_files)
        out.append(f"{n} shared unknown file{'s' if n > 1 else ''} (sent or uploaded by both)")
    if evidence.shared_payments:
        out.append(f"same payment account {_listed(evidence.shared_payments)}")
    if evidence.shared_devices:
        out.append(f"same device {_listed(evidence.shared_devices)}")
    if evidence.alias_similarity >= 0.8:
        out.append(
            f"alias similarity {evidence.alias_similarity:.2f} "
            f"{a.alias_written}~{b.alias_written} (stems {a.alias_stem}~{b.alias_stem})"
        )
    rare_core = sorted(set(a.alias_rare_stems) & set(b.alias_rare_stems)) or sorted(
        t.partition("|")[0] for t in set(a.alias_rare_tokens) & set(b.alias_rare_tokens)
    )
    if rare_core:
        out.append(
            f"alias core {rare_core[0]} is rare in the store "
            f"(on at most {RARE_ALIAS_ACCOUNTS} accounts)"
        )
    elif set(a.alias_stems) & set(b.alias_stems):
        out.append(
            f"alias core {sorted(set(a.alias_stems) & set(b.alias_stems))[0]} is short "
            "or common in the store"
        )
    if evidence.close_ips:
        n = len(evidence.close_ips)
        out.append(
            f"{n} shared IP{'s' if n > 1 else ''} within 24 h ({_listed(evidence.close_ips)})"
        )
    if evidence.week_ips and not evidence.close_ips:
        n = len(evidence.week_ips)
        plural = "s" if n > 1 else ""
        out.append(f"{n} shared IP{plural} within 7 days ({_listed(evidence.week_ips)})")
    if evidence.month_ips and not evidence.close_ips and not evidence.week_ips:
        n = len(evidence.month_ips)
        plural = "s" if n > 1 else ""
        out.append(f"{n} shared IP{plural} within 30 days ({_listed(evidence.month_ips)})")
    timed = evidence.close_ips or evidence.week_ips or evidence.month_ips
    if evidence.home_ips and not timed:
        n = len(evidence.home_ips)
        out.append(
            f"{n} shared IP{'s' if n > 1 else ''} used by at most {HOME_IP_ACCOUNTS} accounts, "
            f"more than 30 days apart ({_listed(evidence.home_ips)})"
        )
    elif evidence.distant_ips and not timed:
        n = len(evidence.distant_ips)
        out.append(f"{n} shared IP{'s' if n > 1 else ''} but never within 30 days, not counted")
    if evidence.shared_countries:
        out.append(f"IPs in the same country ({_listed(evidence.shared_countries)})")
    elif a.countries and b.countries:
        out.append(f"IPs in different countries ({_listed(a.countries)} vs {_listed(b.countries)})")
    if evidence.crowded_close_ips:
        n = len(evidence.crowded_close_ips)
        out.append(
            f"{n} shared IP{'s' if n > 1 else ''} within 24 h used by many accounts, "
            "counted as weak"
        )
    return out
