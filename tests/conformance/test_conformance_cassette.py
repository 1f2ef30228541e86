"""Cassette format, body codecs, scrubbing, lint, and the replay/record transports."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from accord.conformance.cassette import (
    BodyCodec,
    Cassette,
    CassetteError,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    body_bytes,
    body_chunks,
    codec_for,
    describe_mismatch,
    dump_cassette,
    encode_body,
    load_cassette,
    parse_cassette,
    register_codec,
    save_cassette,
)
from accord.conformance.lint import lint_paths, lint_text
from accord.conformance.scrub import Scrubber, is_secret_header, secret_like, unversioned_user_agent
from accord.conformance.transports import (
    CassetteMismatch,
    ForbiddenTransport,
    NetworkForbidden,
    RecordingTransport,
    ReplayTransport,
)

KEY = "sk-proj-" + "A1b2C3d4" * 6


def _interaction(
    body: dict[str, object] | None = None, response_body: dict[str, object] | None = None, **response: object
) -> Interaction:
    return Interaction(
        request=RecordedRequest(
            "POST",
            "https://api.example.com/v1/chat?x=1",
            {"content-type": ["application/json"]},
            {"json": body or {"model": "m", "n": 1}},
        ),
        response=RecordedResponse(
            200,
            {"content-type": ["application/json"]},
            response_body if response_body is not None else {"json": {"ok": True}},
            **response,
        ),  # type: ignore[arg-type]
    )


def _meta(case: str = "completion.basic") -> dict[str, object]:
    return {
        "case": case,
        "adapter": "example",
        "wire": "openai_chat",
        "origin": "synthetic",
        "model": "m",
        "recorded": "2026-01-01",
        "accord_version": "0.1.0",
    }


def test_bodies_are_stored_readably_by_content_type() -> None:
    sse = b'event: delta\nid: 7\ndata: {"a": 1}\n\n: comment\ndata: line one\ndata: line two\n\ndata: [DONE]\n\n'
    stored = encode_body(sse, "text/event-stream; charset=utf-8")
    assert stored == {
        "sse": [{"event": "delta", "id": "7", "data": {"a": 1}}, {"data": "line one\nline two"}, {"data": "[DONE]"}]
    }
    assert body_chunks(stored)[1] == b"data: line one\ndata: line two\n\n"
    assert encode_body(b'{"x":[1,2]}', "application/json") == {"json": {"x": [1, 2]}}
    assert encode_body(b'{"a":1}\n{"b":2}\n', "application/x-ndjson") == {"ndjson": [{"a": 1}, {"b": 2}]}
    assert body_bytes({"ndjson": [{"a": 1}, "raw"]}) == b'{"a":1}\nraw\n'
    assert encode_body(b"not json", "application/json") == {"text": "not json"}
    assert encode_body(b'{"j": true}', None) == {"json": {"j": True}}
    assert encode_body(b"\xff\x00\x01", "application/octet-stream") == {"base64": "/wAB"}
    assert body_bytes({"base64": "/wAB"}) == b"\xff\x00\x01"
    assert encode_body(b"", "application/json") == {}
    assert body_chunks({}) == []
    assert body_bytes({"text": "héllo"}) == "héllo".encode()
    with pytest.raises(CassetteError, match="unknown body codec"):
        body_chunks({"nope": 1})


def test_a_wire_can_register_a_readable_codec() -> None:
    codec = BodyCodec(
        "frames-test",
        ("application/x-frames-test",),
        encode=lambda raw: raw.decode().split("|"),
        decode=lambda v: [f.encode() + b"|" for f in v],
    )
    register_codec(codec)
    assert codec_for("application/x-frames-test") is codec
    assert encode_body(b"a|b", "application/x-frames-test") == {"frames-test": ["a", "b"]}
    assert body_chunks({"frames-test": ["a", "b"]}) == [b"a|", b"b|"]


def test_dump_parse_round_trip_and_digest(tmp_path: Path) -> None:
    cassette = Cassette(_meta(), [_interaction(), Interaction(_interaction().request, error="ReadTimeout")])
    text = dump_cassette(cassette)
    again = parse_cassette(text)
    assert again.interactions == cassette.interactions
    assert again.meta["digest"] == cassette.digest()
    assert again.origin == "synthetic"
    assert again.model == "m"
    assert lint_text(text, "completion.basic.yaml") == []
    path = tmp_path / "x" / "completion.basic.yaml"
    save_cassette(path, cassette, Scrubber())
    assert load_cassette(path).interactions == cassette.interactions
    with pytest.raises(CassetteError, match="no cassette"):
        load_cassette(tmp_path / "missing.yaml")
    with pytest.raises(CassetteError, match="not valid YAML"):
        parse_cassette("a: [")
    with pytest.raises(CassetteError, match="interactions"):
        parse_cassette("meta: {}\n")
    with pytest.raises(CassetteError, match="malformed interaction"):
        parse_cassette("interactions:\n- response: {}\n")


def test_scrubbing_removes_every_credential_before_disk(tmp_path: Path) -> None:
    item = Interaction(
        request=RecordedRequest(
            "POST",
            f"https://generativelanguage.googleapis.com/v1beta/models/g:generate?alt=sse&key={KEY}",
            {
                "authorization": [f"Bearer {KEY}"],
                "x-goog-api-key": ["AIza" + "x" * 35],
                "x-acme-api-key": ["abc123"],
                "openai-organization": ["org-123"],
                "x-amz-date": ["20260101T000000Z"],
                "user-agent": ["t"],
            },
            {"text": "grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=plainsecretvalue"},
        ),
        response=RecordedResponse(
            200,
            {"set-cookie": ["s=1"], "x-echo": [KEY]},
            {"json": {"access_token": "eyJhbGciOi.payload.sig", "note": f"key {KEY}", "token_type": "Bearer"}},
        ),
    )
    path = tmp_path / "completion.basic.yaml"
    save_cassette(path, Cassette(_meta(), [item]), Scrubber(secrets=("plainsecretvalue",)))
    text = path.read_text()
    for secret in (KEY, "AIza", "abc123", "org-123", "plainsecretvalue", "eyJhbGciOi", "20260101T000000Z", "s=1"):
        assert secret not in text, secret
    assert "alt=sse" in text
    assert "grant_type=" in text
    assert lint_paths([tmp_path]) == (1, [])
    assert is_secret_header("X-Custom-Auth-Token")
    assert not is_secret_header("content-type")
    assert secret_like(f"hello {KEY}") == ["sk-pro…"]


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("python-httpx/0.28.1", "python-httpx"),
        ("python-httpx/0.29.0", "python-httpx"),
        ("Python/3.11 aiohttp/3.10.5", "Python aiohttp"),
        ("accord", "accord"),
    ],
)
def test_the_user_agent_is_stored_without_library_versions(sent: str, stored: str) -> None:
    assert unversioned_user_agent(sent) == stored
    headers = Scrubber().headers({"User-Agent": [sent], "Accept": ["*/*"]})
    assert headers == {"User-Agent": [stored], "Accept": ["*/*"]}


def test_save_refuses_when_a_secret_survives(tmp_path: Path) -> None:
    class Leaky(Scrubber):
        def interaction(self, item: Interaction) -> Interaction:
            return item

    item = _interaction(response_body={"text": f"echo {KEY}"})
    with pytest.raises(CassetteError, match="secret-like text survived"):
        save_cassette(tmp_path / "c.yaml", Cassette(_meta(), [item]), Leaky())
    assert not (tmp_path / "c.yaml").exists()


def test_lint_catches_edits_secrets_unscrubbed_credentials_and_missing_metadata(tmp_path: Path) -> None:
    good = dump_cassette(Cassette(_meta(), [_interaction()]))
    assert lint_text(good, "completion.basic.yaml") == []
    edited = good.replace("ok: true", "ok: false")
    assert any("hand-edited" in p for p in lint_text(edited, "completion.basic.yaml"))
    leaked = good.replace("content-type:\n      - application/json", f"authorization:\n      - Bearer {KEY}", 1)
    problems = lint_text(leaked, "completion.basic.yaml")
    assert any("secret-like" in p for p in problems)
    assert any("header `authorization` is not scrubbed" in p for p in problems)
    query = good.replace("?x=1", "?key=abc")
    assert any("query parameter `key`" in p for p in lint_text(query, "completion.basic.yaml"))
    meta = dict(_meta())
    del meta["model"]
    meta["origin"] = "handmade"
    problems = lint_text(dump_cassette(Cassette(meta, [])), "other.yaml")
    assert any("`model` is missing" in p for p in problems)
    assert any("origin 'handmade'" in p for p in problems)
    assert any("does not match case" in p for p in problems)
    assert any("no interactions" in p for p in problems)
    assert lint_text("a: [", "x.yaml")[0].startswith("x.yaml: not valid YAML")
    (tmp_path / "completion.basic.yaml").write_text(edited)
    assert lint_paths([tmp_path])[0] == 1


def test_mismatch_shows_a_readable_diff() -> None:
    recorded = _interaction({"model": "m", "stop": ["3."], "max_tokens": 50}).request
    sent = RecordedRequest("GET", "https://api.example.com/v2/chat?x=2", {}, {"json": {"model": "m", "max_tokens": 5}})
    text = describe_mismatch(recorded, sent)
    assert "method: recorded POST, sent GET" in text
    assert "path: recorded /v1/chat, sent /v2/chat" in text
    assert "query:" in text
    assert '-  "max_tokens": 50,' in text
    assert '+  "max_tokens": 5,' in text
    assert '-  "stop": [' in text
    assert describe_mismatch(recorded, recorded) == "requests are equal"


async def test_replay_serves_in_order_and_fails_loudly_on_difference() -> None:
    streamed = _interaction(response_body={"sse": [{"data": {"i": 1}}, {"data": {"i": 2}}]}, cut=True)
    streamed.response.headers = {"content-type": ["text/event-stream"], "content-encoding": ["gzip"]}  # type: ignore[union-attr]
    timeout = Interaction(_interaction().request, error="ReadTimeout")
    cassette = Cassette(_meta(), [_interaction(), streamed, timeout])
    async with httpx.AsyncClient(transport=ReplayTransport(cassette)) as client:
        first = await client.post("https://other-host.example/v1/chat?x=1", json={"n": 1, "model": "m"})
        assert first.json() == {"ok": True}
        async with client.stream("POST", "https://api.example.com/v1/chat?x=1", json={"model": "m", "n": 1}) as r:
            assert "content-encoding" not in r.headers  # served decoded
            chunks: list[bytes] = []

            async def drain() -> None:
                async for chunk in r.aiter_bytes():
                    chunks.append(chunk)

            with pytest.raises(httpx.RemoteProtocolError):
                await drain()
            assert b"".join(chunks) == b'data: {"i":1}\n\ndata: {"i":2}\n\n'
            assert len(chunks) == 4  # each event split across two reads
        with pytest.raises(httpx.ReadTimeout):
            await client.post("https://api.example.com/v1/chat?x=1", json={"model": "m", "n": 1})
        with pytest.raises(CassetteMismatch, match="holds 3"):
            await client.post("https://api.example.com/v1/chat?x=1", json={"model": "m", "n": 1})
    async with httpx.AsyncClient(transport=ReplayTransport(cassette)) as client:
        with pytest.raises(CassetteMismatch, match=r'\+  "n": 2'):
            await client.post("https://api.example.com/v1/chat?x=1", json={"model": "m", "n": 2})
    broken = Cassette(_meta(), [Interaction(_interaction().request)])
    async with httpx.AsyncClient(transport=ReplayTransport(broken)) as client:
        with pytest.raises(CassetteError, match="neither a response nor an error"):
            await client.post("https://api.example.com/v1/chat?x=1", json={"model": "m", "n": 1})
    async with httpx.AsyncClient(transport=ForbiddenTransport()) as client:
        with pytest.raises(NetworkForbidden):
            await client.get("https://api.example.com/")


async def test_recording_keeps_decoded_bodies_cuts_and_transport_errors() -> None:
    import gzip

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/gz":
            return httpx.Response(
                200,
                headers={"content-encoding": "gzip", "content-type": "application/json"},
                content=gzip.compress(b'{"zipped": true}'),
            )
        if request.url.path == "/timeout":
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(200, json={"plain": 1})

    recorder = RecordingTransport(httpx.MockTransport(handler), Scrubber(secrets=("s3cr3t-value",)))
    async with httpx.AsyncClient(transport=recorder) as client:
        assert (await client.post("https://h/gz", json={"k": "s3cr3t-value"})).json() == {"zipped": True}
        await client.get("https://h/plain")
        with pytest.raises(httpx.ReadTimeout):
            await client.post("https://h/timeout", content=b"x")
    items = recorder.interactions()
    assert items[0].response is not None
    assert items[0].response.body == {"json": {"zipped": True}}
    assert "content-encoding" not in items[0].response.headers
    assert items[0].request.body == {"json": {"k": "<redacted>"}}
    assert items[1].request.body == {}
    assert items[2].error == "ReadTimeout"
    assert items[2].response is None
    assert json.dumps(items[0].request.headers)  # plain data, YAML-able


def test_split_chunks_cuts_inside_multibyte_characters() -> None:
    from accord.conformance.transports import split_chunks

    assert split_chunks([b"abcd", b"x"]) == [b"ab", b"cd", b"x"]
    pieces = split_chunks(["data: é\n\n".encode()])
    assert len(pieces) == 2
    assert b"".join(pieces) == "data: é\n\n".encode()
    assert pieces[0].endswith(b"\xc3")  # the cut falls inside the two-byte character
