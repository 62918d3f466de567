"""What the routers share: ids are positive and fit a 64-bit column; large plain-JSON
answers skip FastAPI's per-value encoder (the OpenAPI document still comes from the route's
return annotation)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from fastapi.responses import JSONResponse

MAX_ROW_ID = 2**62

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def json_response(content: Any) -> Any:
    """Already plain JSON (dicts, lists, str, numbers): sent as is."""
    return JSONResponse(content)
