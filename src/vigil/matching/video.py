"""Video matching by shares of frames matched (vPDQ's scoring) against the frame index.

A known video's frames sit in the frame multi-index under their own frame ids; the view maps
each frame id to the entry row it belongs to, so the share of the known video that matched
counts distinct known frames, as vPDQ does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from vigil.matching.pdq_index import pdq_to_bytes
from vigil.matching.types import (
    MatchQuery,
    MatchResult,
    VideoThresholds,
    frame_pdq_and_quality,
    normalise_hex,
)

if TYPE_CHECKING:
    from vigil.matching.matcher import MatcherView

ResultFor = Callable[..., MatchResult]


def match_video(
    view: MatcherView,
    thresholds: VideoThresholds,
    queries: Sequence[MatchQuery],
    found: list[dict[tuple[int, str], MatchResult]],
    result_for: ResultFor,
) -> None:
    if len(view.video) == 0:
        return
    for i, query in enumerate(queries):
        if not query.video_frames:
            continue
        frame_hexes = []
        for frame in query.video_frames:
            value, quality = frame_pdq_and_quality(frame)
            if quality is None or quality >= thresholds.frame_quality_min:
                frame_hexes.append(normalise_hex(value, 64, "video frame PDQ") or "")
        if not frame_hexes:
            continue
        asked, frame_ids, distances = view.video.search(
            pdq_to_bytes(frame_hexes), thresholds.frame_distance_bits
        )
        rows = view.video_frame_rows[frame_ids]
        per_row: dict[int, tuple[set[int], set[int], int]] = {}
        for q, frame_id, row, distance in zip(
            asked.tolist(), frame_ids.tolist(), rows.tolist(), distances.tolist(), strict=True
        ):
            if not view.table.alive[row]:
                continue
            query_frames, known_frames, worst = per_row.get(row, (set(), set(), 0))
            query_frames.add(q)
            known_frames.add(frame_id)
            per_row[row] = (query_frames, known_frames, max(worst, distance))
        for row, (query_frames, known_frames, worst) in per_row.items():
            query_pct = 100.0 * len(query_frames) / len(frame_hexes)
            known_count = int(view.table.column("video_counts", np.array([row]))[0])
            compared_pct = 100.0 * len(known_frames) / max(1, known_count)
            if (
                query_pct >= thresholds.query_match_percent
                and compared_pct >= thresholds.compared_match_percent
            ):
                extra: dict[str, Any] = {
                    "query_match_percent": round(query_pct, 2),
                    "compared_match_percent": round(compared_pct, 2),
                }
                found[i][(row, "video")] = result_for(view, row, "video", worst, **extra)
