"""Hand-made account profiles for the identity tests: a few people, their aliases drifting
across platforms, and the false friends that must stay apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vigil.identity.profiles import AccountProfile, IpSighting

T0 = datetime(2006, 3, 14, 21, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ip(address: str, hours: float, proxy: bool = False) -> IpSighting:
    return IpSighting(address, at(hours), proxy)


def people() -> tuple[list[AccountProfile], dict[int, str]]:
    """Profiles and the truth (account id -> person)."""
    profiles = [
        # P1: the administrator, four platforms
        AccountProfile(
            1,
            "Lantern Board",
            "Son_of_god",
            emails=frozenset({"sonofgod@mailbox.example"}),
            ips=(ip("81.2.69.10", 0),),
        ),
        AccountProfile(
            2, "NightNet", "s0n_0f_g0d", ips=(ip("81.2.69.10", 5), ip("81.2.69.10", 30))
        ),
        AccountProfile(3, "Parley", "SonOfGod77", ips=(ip("81.2.69.10", 20),)),
        AccountProfile(
            4,
            "PicNook",
            "sog_reports",
            emails=frozenset({"sonofgod@mailbox.example"}),
            phones=frozenset({"+15555550100"}),
        ),
        # P2: a distributor, alias reused with its number
        AccountProfile(5, "Lantern Board", "night_owl_1987", ips=(ip("2.16.0.5", 10),)),
        AccountProfile(6, "NightNet", "N1ght0wl1987", ips=(ip("2.16.0.5", 12),)),
        # P3 and P4: common alias, different people (false friend)
        AccountProfile(7, "Parley", "john123", ips=(ip("5.1.0.1", 1),)),
        AccountProfile(8, "Murmur", "John_123", ips=(ip("5.1.0.2", 1),)),
        # P5 and P6: one CGNAT address, strangers (false friend)
        AccountProfile(9, "Parley", "quiet_lake", ips=(ip("100.64.0.1", 3),)),
        AccountProfile(10, "Murmur", "storm_cedar", ips=(ip("100.64.0.1", 4),)),
        # P7 and P8: a family computer (false friend)
        AccountProfile(11, "BoxHaven", "maple_ridge", devices=frozenset({"PC-0A1B2C3D"})),
        AccountProfile(12, "BoxHaven", "copper_fox", devices=frozenset({"PC-0A1B2C3D"})),
        # P9: a producer whose new images appear from two accounts
        AccountProfile(
            13, "Lantern Board", "amberglass", unknown_files=frozenset({"aa" * 32, "bb" * 32})
        ),
        AccountProfile(
            14,
            "Parley",
            "Amber.Glass77",
            unknown_files=frozenset({"aa" * 32, "bb" * 32}),
            ips=(ip("9.9.9.9", 2, proxy=True),),
        ),
        # P10: a victim whose alias resembles the admin's
        AccountProfile(15, "PicNook", "sonofgod", victim=True),
    ]
    truth = {
        1: "P1",
        2: "P1",
        3: "P1",
        4: "P1",
        5: "P2",
        6: "P2",
        7: "P3",
        8: "P4",
        9: "P5",
        10: "P6",
        11: "P7",
        12: "P8",
        13: "P9",
        14: "P9",
        15: "P10",
    }
    return profiles, truth
