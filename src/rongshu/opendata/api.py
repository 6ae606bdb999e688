"""The portal's JSON API under ``/api/v1/opendata`` (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/opendata", tags=["open data"])
