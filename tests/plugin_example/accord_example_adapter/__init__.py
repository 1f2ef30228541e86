"""Acme: an example third-party adapter — an OpenAI-compatible vendor built on accord's building blocks."""

from __future__ import annotations

from typing import Any

from accord.adapters.openai_chat import OpenAIChatAdapter, VendorSpec

ACME = VendorSpec(name="acme", base_url="https://api.acme.example/v1", env_var="ACME_API_KEY")


class AcmeAdapter(OpenAIChatAdapter):
    """Acme's chat API speaks Chat Completions; accord's adapter does the work, this names the vendor."""

    conformance_model = "acme-chat-1"

    def __init__(self, **options: Any) -> None:
        super().__init__(vendor=ACME, **options)
