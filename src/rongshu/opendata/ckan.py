"""CKAN's Action API under ``/api/3/action/`` (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/3/action", tags=["CKAN action API"])
