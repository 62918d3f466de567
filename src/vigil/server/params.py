"""Parameter types shared by the routers: ids are positive and fit a 64-bit column."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

MAX_ROW_ID = 2**62

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
