"""Public accounts' pages: register, sign in, apply for conditional data, API keys (being
written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
