"""Review links: the pairs of accounts the model is unsure of, the most valuable answer first,
each with its reasons and the evidence weighed in plain words, and Confirm / Reject / Skip.

The queue is the API's (``vigil.server.api.review``: `vigil links review`, within reach). A
decision goes through the same workflow as `vigil link confirm|reject` and starts the
re-linking job, so the subject pages follow; the pair leaves the queue at once. Skip is the
analyst's own: it hides a pair in this browser (a cookie) until they ask to see skipped pairs
again, and records nothing.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.errors import UsageError
from vigil.server.api.review import QueueAccount, review_view
from vigil.server.policy import Permission
from vigil.server.scope import account_in_reach
from vigil.server.web.access import PageRoute, done, page
from vigil.server.web.jobs import relink
from vigil.server.web.queries.listing import Page
from vigil.server.web.render import PageContext, render
from vigil.store.models import Subject
from vigil.workflows.identity.decisions import DECISIONS, decide_link, find_account

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PATH = "/links/review"
PAGE_SIZE = 10
SKIP_COOKIE = "vigil_review_skip"
MAX_SKIPPED = 200  # 13 characters each: the cookie stays well under the 4 kB browsers keep
TOKEN = re.compile(r"^[0-9a-f]{12}$")

# What each of the model's comparisons looks at, for someone who does not know its names.
CHECKS = {
    "alias": "Usernames",
    "platform": "Platforms",
    "email": "Email addresses",
    "phone": "Phone numbers",
    "device": "Devices",
    "camera": "Cameras",
    "ip": "Internet addresses (IP)",
    "country": "Countries",
    "payment": "Payment details",
    "files": "Files in common",
}


def pair_token(a: str, b: str) -> str:
    """A short name for a pair, for the skip cookie (the accounts themselves stay out of it)."""
    return hashlib.sha256(f"{a}\n{b}".encode()).hexdigest()[:12]


def _skipped(request: Request) -> list[str]:
    raw = request.cookies.get(SKIP_COOKIE, "")
    return [token for token in raw.split(".") if TOKEN.match(token)][-MAX_SKIPPED:]


def weighs(bits: float) -> str:
    """A comparison's weight in bits, in words: which way it points and how hard."""
    if abs(bits) < 0.5:
        return "hardly counts either way"
    strength = "strongly " if abs(bits) >= 6 else "" if abs(bits) >= 2 else "slightly "
    return f"{strength}{'for' if bits > 0 else 'against'} the same person"


def likely(probability: float) -> str:
    """A probability as a percentage that never reads 0% or 100%: the pair is in the queue
    because the model is not sure."""
    percent = 100 * probability
    if 1 <= percent <= 99:
        return f"{percent:.0f}%"
    return f"{min(max(percent, 0.1), 99.9):.1f}%"


def _side(key: str, subject_id: int | None, accounts: dict[str, QueueAccount]) -> dict[str, Any]:
    account = accounts[key]
    return {
        "key": key,
        "platform": account.platform,
        "username": account.username,
        "subject_id": subject_id,
    }


def _card(item: dict[str, Any], rank: int, accounts: dict[str, QueueAccount]) -> dict[str, Any]:
    return {
        "rank": rank,
        "token": pair_token(item["a"], item["b"]),
        "a": _side(item["a"], item["subject_a"], accounts),
        "b": _side(item["b"], item["subject_b"], accounts),
        "likely": likely(item["probability"]),
        "linked": item["linked"],
        "expected_value": item["expected_value"],
        "accounts_affected": item["accounts_affected"],
        "reasons": item["reasons"],
        "evidence": [
            {
                "check": CHECKS.get(e["comparison"], e["comparison"].capitalize()),
                "found": e["level"],
                "weighs": weighs(e["weight_bits"]),
                "bits": e["weight_bits"],
            }
            for e in item["evidence"]
        ],
    }


@router.get(PATH)
def review_page(
    page_number: int = Query(1, alias="page", ge=1, le=100000),
    ctx: PageContext = Depends(page(Permission.REVIEW_LINKS)),
) -> HTMLResponse:
    view = review_view(ctx.request, ctx.me)
    skipped = set(_skipped(ctx.request))
    shown = [item for item in view.items if pair_token(item["a"], item["b"]) not in skipped]
    total = len(shown)
    number = min(page_number, max(1, -(-total // PAGE_SIZE)))
    first = (number - 1) * PAGE_SIZE
    cards = [
        _card(item, first + offset + 1, view.accounts)
        for offset, item in enumerate(shown[first : first + PAGE_SIZE])
    ]
    subject_ids = {card[side]["subject_id"] for card in cards for side in ("a", "b")}
    with ctx.store.reading() as session:
        labels = dict(
            session.execute(
                select(Subject.id, Subject.label).where(
                    Subject.id.in_([s for s in subject_ids if s is not None])
                )
            ).all()
        )
    return render(
        ctx,
        "review.html",
        "Review links",
        page=Page(number, total, cards, PAGE_SIZE),
        pager_url=ctx.pager(PATH),
        labels=labels,
        fresh=view.fresh,
        computed_at=view.computed_at,
        skipped=len(view.items) - total,
        can_decide=ctx.may(Permission.DECIDE_LINKS),
    )


def _named(session: Session, key: str) -> str:
    """An account as the page shows it: its name as first written, and its platform."""
    account = find_account(session, key)
    return f"{account.display} on {account.platform}"


def _back(form_page: object) -> str:
    text = str(form_page or "")
    return f"{PATH}?page={text}" if text.isdigit() else PATH


@router.post(f"{PATH}/decide")
async def decide(
    request: Request, ctx: PageContext = Depends(page(Permission.DECIDE_LINKS))
) -> Response:
    form = await request.form()
    a, b = str(form.get("a", "")), str(form.get("b", ""))
    decision = str(form.get("decision", ""))
    if decision not in DECISIONS:
        raise UsageError("answer Confirm or Reject")
    with ctx.store.reading() as session:
        account_in_reach(session, ctx.me, a)
        account_in_reach(session, ctx.me, b)
        names = _named(session, a), _named(session, b)
    # Re-linking takes seconds at seed scale: it runs as a job, and the analyst moves on.
    decide_link(ctx.store, ctx.me, a, b, decision, relink=False)
    job_id = relink(request, ctx.me)
    verdict = "are the same person" if decision == "confirm" else "are not the same person"
    back = _back(form.get("page"))
    return done(
        f"{back}{'&' if '?' in back else '?'}job={job_id}",
        f"Recorded: {names[0]} and {names[1]} {verdict}. Re-linking the subjects (job {job_id}); "
        "their pages change when it is done.",
    )


@router.post(f"{PATH}/skip")
async def skip(
    request: Request, ctx: PageContext = Depends(page(Permission.REVIEW_LINKS))
) -> Response:
    form = await request.form()
    a, b = str(form.get("a", "")), str(form.get("b", ""))
    with ctx.store.reading() as session:
        account_in_reach(session, ctx.me, a)
        account_in_reach(session, ctx.me, b)
        names = _named(session, a), _named(session, b)
    tokens = [t for t in _skipped(request) if t != pair_token(a, b)] + [pair_token(a, b)]
    response = done(
        _back(form.get("page")),
        f"Skipped {names[0]} and {names[1]} for now: nothing is recorded, and the pair stays "
        "out of your list until you show skipped pairs again.",
        "info",
    )
    response.set_cookie(
        SKIP_COOKIE,
        ".".join(tokens[-MAX_SKIPPED:]),
        max_age=7 * 24 * 3600,
        httponly=True,
        samesite="strict",
    )
    return response


@router.post(f"{PATH}/unskip")
async def unskip(ctx: PageContext = Depends(page(Permission.REVIEW_LINKS))) -> Response:
    response = done(PATH, "Skipped pairs are back in your list.", "info")
    response.delete_cookie(SKIP_COOKIE)
    return response
