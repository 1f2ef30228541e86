"""Azure OpenAI: deployment URLs, api-version, key and Entra ID auth, content filtering, retry-after-ms."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from accord.adapters import connect
from accord.adapters._retry import RetryPolicy
from accord.adapters.azure import DEFAULT_API_VERSIONS, AzureOpenAIAdapter, TokenAuth
from accord.contracts import (
    ConfigurationError,
    ContentFilterError,
    InvalidRequestError,
    Message,
    RateLimitError,
    Request,
    StreamEnd,
    TextDelta,
)

ENDPOINT = "https://myres.openai.azure.com"
KEY = "azure-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _azure_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_API_VERSION", raising=False)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", ENDPOINT)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)


def chat_completion(content: str = "Hi", finish: str = "stop", **choice_extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-2024-11-20",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish,
                **choice_extra,
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    }


def make(handler: Any, **options: Any) -> tuple[AzureOpenAIAdapter, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)  # type: ignore[no-any-return]

    async def no_sleep(_: float) -> None:
        return None

    options.setdefault("retry_policy", RetryPolicy(max_retries=0, sleep=no_sleep))
    client = httpx.AsyncClient(transport=httpx.MockTransport(record))
    return AzureOpenAIAdapter(http_client=client, **options), seen


def request(model: str = "my-gpt4o") -> Request:
    return Request(model=model, messages=[Message.user("hello")])


async def drain(adapter: AzureOpenAIAdapter, req: Request) -> list[Any]:
    async with adapter.stream(req) as stream:
        return [e async for e in stream]


# --- URLs, versions, auth ------------------------------------------------------------------------------------


async def test_chat_goes_to_the_deployment_with_api_version_and_api_key() -> None:
    adapter, seen = make(lambda r: httpx.Response(200, json=chat_completion()))
    response = await adapter.complete(request("my gpt/4o"))
    sent = seen[0]
    assert sent.url.raw_path.decode().startswith("/openai/deployments/my%20gpt%2F4o/chat/completions?")
    assert sent.url.params["api-version"] == DEFAULT_API_VERSIONS["chat"]
    assert sent.headers["api-key"] == KEY
    assert "authorization" not in sent.headers
    body = json.loads(sent.content)
    assert body["messages"] == [{"role": "user", "content": "hello"}]
    assert response.text == "Hi"
    assert response.provider.name == "azure"
    assert KEY not in repr(adapter)


async def test_api_version_from_env_and_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_VERSION", "2024-12-01-preview")
    adapter, seen = make(lambda r: httpx.Response(200, json=chat_completion()))
    await adapter.complete(request())
    assert seen[0].url.params["api-version"] == "2024-12-01-preview"
    adapter, seen = make(lambda r: httpx.Response(200, json=chat_completion()), api_version="2025-01-01-preview")
    await adapter.complete(request())
    assert seen[0].url.params["api-version"] == "2025-01-01-preview"


async def test_endpoint_argument_and_trailing_openai_path() -> None:
    adapter, seen = make(
        lambda r: httpx.Response(200, json=chat_completion()), endpoint="https://other.example.com/openai/"
    )
    await adapter.complete(request())
    assert str(seen[0].url).startswith("https://other.example.com/openai/deployments/my-gpt4o/chat/completions")


@pytest.mark.parametrize(
    ("api", "endpoint", "path"),
    [
        ("chat", ENDPOINT, "/openai/v1/chat/completions"),
        ("responses", ENDPOINT + "/openai/v1/", "/openai/v1/responses"),
    ],
)
async def test_v1_api_paths_take_no_api_version(api: str, endpoint: str, path: str) -> None:
    payload = chat_completion() if api == "chat" else RESPONSE
    adapter, seen = make(lambda r: httpx.Response(200, json=payload), api=api, endpoint=endpoint, api_version="v1")
    response = await adapter.complete(request("my-deployment"))
    assert str(seen[0].url) == "https://myres.openai.azure.com" + path
    assert json.loads(seen[0].content)["model"] == "my-deployment"
    assert response.text in ("Hi", "Hello")


def test_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="api must be"):
        AzureOpenAIAdapter(api="images")  # type: ignore[arg-type]
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    with pytest.raises(ConfigurationError, match="AZURE_OPENAI_API_KEY"):
        AzureOpenAIAdapter()
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT")
    with pytest.raises(ConfigurationError, match="endpoint"):
        AzureOpenAIAdapter(api_key="k")


async def test_entra_id_sync_provider_is_called_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    tokens = iter(["token-one", "token-two"])
    adapter, seen = make(
        lambda r: httpx.Response(200, json=chat_completion()), azure_ad_token_provider=lambda: next(tokens)
    )
    await adapter.complete(request())
    await adapter.complete(request())
    assert [r.headers["authorization"] for r in seen] == ["Bearer token-one", "Bearer token-two"]
    assert all("api-key" not in r.headers for r in seen)
    assert "token" not in repr(adapter)


async def test_entra_id_async_provider_wins_over_a_key() -> None:
    calls = 0

    async def provider() -> str:
        nonlocal calls
        calls += 1
        return f"async-token-{calls}"

    adapter, seen = make(lambda r: httpx.Response(200, json=chat_completion()), azure_ad_token_provider=provider)
    await adapter.complete(request())
    assert seen[0].headers["authorization"] == "Bearer async-token-1"
    assert "api-key" not in seen[0].headers


def test_token_auth_sync_flow() -> None:
    auth = TokenAuth(lambda: "sync-token")
    signed = next(auth.sync_auth_flow(httpx.Request("POST", ENDPOINT)))
    assert signed.headers["authorization"] == "Bearer sync-token"
    assert "sync-token" not in repr(auth)

    async def provider() -> str:
        return "x"

    with pytest.raises(ConfigurationError, match="async"):
        next(TokenAuth(provider).sync_auth_flow(httpx.Request("POST", ENDPOINT)))


async def test_base_model_selects_catalog_facts() -> None:
    adapter, _ = make(lambda r: httpx.Response(200, json=chat_completion()), base_model="gpt-4o")
    profile = adapter.profile("prod-deployment")
    assert profile.model == "prod-deployment"
    assert profile.supports_vision is True
    assert profile.pricing.input == 2.5
    assert adapter.profile("prod-deployment") is profile
    plain, _ = make(lambda r: httpx.Response(200, json=chat_completion()))
    assert plain.profile("prod-deployment").supports_vision is False


def test_connect_builds_the_azure_adapter() -> None:
    model = connect("azure:my-deployment", api_key="k", endpoint=ENDPOINT)
    assert isinstance(model.adapter, AzureOpenAIAdapter)
    assert model.model == "my-deployment"
    responses = connect("azure:dep", api_key="k", endpoint=ENDPOINT, api="responses")
    assert isinstance(responses.adapter, AzureOpenAIAdapter)
    assert responses.adapter.api == "responses"


# --- content filtering ---------------------------------------------------------------------------------------

PROMPT_FILTERED = {
    "error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": {
                "hate": {"filtered": False, "severity": "safe"},
                "jailbreak": {"filtered": True, "detected": True},
            },
        },
    }
}


async def test_blocked_prompt_is_a_content_filter_error() -> None:
    adapter, _ = make(lambda r: httpx.Response(400, json=PROMPT_FILTERED))
    with pytest.raises(ContentFilterError) as info:
        await adapter.complete(request())
    assert info.value.code == "content_filter"
    assert info.value.body["error"]["innererror"]["content_filter_result"]["jailbreak"]["filtered"] is True
    only_inner = {"error": {**PROMPT_FILTERED["error"], "code": None}}
    adapter, _ = make(lambda r: httpx.Response(400, json=only_inner))
    with pytest.raises(ContentFilterError):
        await adapter.complete(request())
    adapter, _ = make(lambda r: httpx.Response(400, json={"error": "plain"}))
    with pytest.raises(InvalidRequestError):
        await adapter.complete(request())


FILTER_RESULTS = {"violence": {"filtered": True, "severity": "medium"}, "hate": {"filtered": False, "severity": "safe"}}
PROMPT_RESULTS = [{"prompt_index": 0, "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}}}]


async def test_filtered_output_keeps_filter_results() -> None:
    payload = chat_completion("partial", "content_filter", content_filter_results=FILTER_RESULTS)
    payload["prompt_filter_results"] = PROMPT_RESULTS
    adapter, _ = make(lambda r: httpx.Response(200, json=payload))
    response = await adapter.complete(request())
    assert response.finish_reason == "content_filter"
    assert response.provider.extra["content_filter_results"] == FILTER_RESULTS
    assert response.provider.extra["prompt_filter_results"] == PROMPT_RESULTS
    clean, _ = make(lambda r: httpx.Response(200, json=chat_completion()))
    assert (await clean.complete(request())).provider.extra == {}


async def test_filtered_output_in_a_stream() -> None:
    chunks = [
        {"id": "", "object": "", "created": 0, "model": "", "choices": [], "prompt_filter_results": PROMPT_RESULTS},
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Some"}, "finish_reason": None}],
        },
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o",
            "choices": [
                {"index": 0, "delta": {}, "finish_reason": "content_filter", "content_filter_results": FILTER_RESULTS}
            ],
        },
    ]
    data = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    adapter, seen = make(lambda r: httpx.Response(200, content=data.encode()))
    events = await drain(adapter, request())
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Some"
    assert end.response.finish_reason == "content_filter"
    assert end.response.provider.extra["content_filter_results"] == FILTER_RESULTS
    assert end.response.provider.extra["prompt_filter_results"] == PROMPT_RESULTS
    assert json.loads(seen[0].content)["stream"] is True


async def test_retry_after_ms_is_honoured() -> None:
    answers = iter(
        [
            httpx.Response(
                429, json={"error": {"code": "429", "message": "Rate limit"}}, headers={"retry-after-ms": "2500"}
            ),
            httpx.Response(200, json=chat_completion()),
        ]
    )
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    adapter, _seen = make(lambda r: next(answers), retry_policy=RetryPolicy(max_retries=1, sleep=fake_sleep))
    response = await adapter.complete(request())
    assert slept == [2.5]
    assert response.attempts == 2
    adapter, _ = make(
        lambda r: httpx.Response(
            429, json={"error": {"message": "x"}}, headers={"retry-after-ms": "120", "retry-after": "9"}
        )
    )
    with pytest.raises(RateLimitError) as info:
        await adapter.complete(request())
    assert info.value.retry_after == 0.12


async def test_retry_after_phrase_in_the_body() -> None:
    body = {"error": {"code": "429", "message": "Exceeded token rate limit. Please retry after 7 seconds."}}
    adapter, _ = make(lambda r: httpx.Response(429, json=body))
    with pytest.raises(RateLimitError) as info:
        await adapter.complete(request())
    assert info.value.retry_after == 7.0
    adapter, _ = make(lambda r: httpx.Response(429, json=body, headers={"retry-after": "3"}))
    with pytest.raises(RateLimitError) as info:
        await adapter.complete(request())
    assert info.value.retry_after == 3.0  # the header wins over the phrase


# --- the Responses API on Azure ------------------------------------------------------------------------------

RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1,
    "status": "completed",
    "model": "gpt-4o",
    "output": [
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Hello", "annotations": []}],
        }
    ],
    "usage": {"input_tokens": 5, "output_tokens": 1, "total_tokens": 6},
}


async def test_responses_api_on_azure() -> None:
    adapter, seen = make(lambda r: httpx.Response(200, json=RESPONSE), api="responses")
    response = await adapter.complete(request("my-deployment"))
    sent = seen[0]
    assert sent.url.path == "/openai/responses"
    assert sent.url.params["api-version"] == DEFAULT_API_VERSIONS["responses"]
    assert sent.headers["api-key"] == KEY
    body = json.loads(sent.content)
    assert body["model"] == "my-deployment"
    assert body["input"] == [{"type": "message", "role": "user", "content": "hello"}]
    assert response.text == "Hello"
    assert response.usage.total_tokens == 6


async def test_responses_stream_on_azure() -> None:
    final = dict(RESPONSE)
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {**final, "status": "in_progress", "output": []}},
        {
            "type": "response.output_text.delta",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "delta": "He",
        },
        {
            "type": "response.output_text.delta",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "delta": "llo",
        },
        {"type": "response.completed", "response": final},
    ]
    data = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    adapter, _ = make(lambda r: httpx.Response(200, content=data.encode()), api="responses")
    out = await drain(adapter, request())
    assert out[-1].response.text == "Hello"
    assert out[-1].response.provider.name == "azure"
