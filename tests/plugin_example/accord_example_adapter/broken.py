"""Deliberately broken Acme variants: certification must catch each fault."""

from __future__ import annotations

from typing import Any

from accord.adapters._base import WireContext
from accord.contracts import Request

from . import AcmeAdapter


class ForgetfulAcmeAdapter(AcmeAdapter):
    """Forgets to send stop sequences (a request-mapping bug)."""

    def _wire_request(self, request: Request, ctx: WireContext) -> dict[str, Any]:
        body = super()._wire_request(request, ctx)
        body.pop("stop", None)
        return body
