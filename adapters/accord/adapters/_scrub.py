"""Secret scrubbing shared by error bodies, logs and cassettes: nothing secret-looking leaves the process."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "<redacted>"

# Key shapes of the providers accord speaks, plus bearer tokens and AWS access key ids.
SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{16,}"),
    re.compile(r"sk-(?:proj-|svcacct-|or-v1-)?[A-Za-z0-9_\-]{20,}"),
    re.compile(r"AIza[0-9A-Za-z_\-]{30,}"),
    re.compile(r"(?:AKIA|ASIA)[0-9A-Z]{16}"),
    re.compile(r"gsk_[A-Za-z0-9]{20,}"),
    re.compile(r"xai-[A-Za-z0-9]{20,}"),
    re.compile(r"dapi[0-9a-f]{32}"),
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=\-]{16,}"),
)

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
        "proxy-authorization",
        "x-amz-security-token",
        "x-amz-date",
        "x-amz-content-sha256",
        "openai-organization",
        "openai-project",
        "x-stainless-api-key",
    }
)


def scrub_text(text: str, extra_secrets: tuple[str, ...] = ()) -> str:
    """`text` with every secret-looking token (and each of `extra_secrets`) replaced by a marker."""
    for secret in extra_secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def scrub_value(value: Any, extra_secrets: tuple[str, ...] = ()) -> Any:
    """Recursively scrub strings inside parsed JSON."""
    if isinstance(value, str):
        return scrub_text(value, extra_secrets)
    if isinstance(value, dict):
        return {k: scrub_value(v, extra_secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(v, extra_secrets) for v in value]
    return value


def has_secret(text: str) -> bool:
    return any(p.search(text) for p in SECRET_PATTERNS)


# Query parameters that carry credentials (Gemini `?key=`, presigned AWS URLs, token flows).
SECRET_QUERY_PARAMS = frozenset(
    {
        "key",
        "api_key",
        "apikey",
        "api-key",
        "access_token",
        "token",
        "sig",
        "signature",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
    }
)

# JSON / form fields whose value is a credential wherever they appear (IAM token exchanges, OAuth answers).
SECRET_FIELDS = frozenset(
    {
        "api_key",
        "apikey",
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "password",
        "secret_access_key",
        "session_token",
        "aws_secret_access_key",
        "aws_session_token",
    }
)
