"""Live recordings: volatile values and the server's random origin are replaced before anything is written."""

from __future__ import annotations

from accord.conformance.responders.llamacpp_live import ORIGIN, VOLATILE
from accord.conformance.scrub import Scrubber


def test_volatile_keys_are_replaced_at_any_depth_and_other_values_kept() -> None:
    scrubber = Scrubber(volatile=VOLATILE, origin=ORIGIN)
    body = {
        "id": "chatcmpl-abc",
        "created": 1795317854,
        "choices": [{"message": {"content": "Hello"}}],
        "output": [{"id": "msg_x", "content": [{"text": "Hi"}]}],
        "timings": {"prompt_ms": 9.5},
        "usage": {"prompt_tokens": 38},
    }
    assert scrubber.value(body) == {
        "id": "live-id",
        "created": 0,
        "choices": [{"message": {"content": "Hello"}}],
        "output": [{"id": "live-id", "content": [{"text": "Hi"}]}],
        "timings": {},
        "usage": {"prompt_tokens": 38},
    }


def test_the_random_local_origin_becomes_the_stand_in() -> None:
    scrubber = Scrubber(volatile=VOLATILE, origin=ORIGIN)
    assert (
        scrubber.uri("http://127.0.0.1:40991/v1/chat/completions?x=1")
        == "http://llamacpp.local/v1/chat/completions?x=1"
    )
    assert scrubber.headers({"host": ["127.0.0.1:40991"], "accept": ["*/*"]}) == {
        "host": ["llamacpp.local"],
        "accept": ["*/*"],
    }


def test_without_volatile_settings_nothing_changes() -> None:
    scrubber = Scrubber()
    assert scrubber.value({"id": "chatcmpl-abc", "created": 5}) == {"id": "chatcmpl-abc", "created": 5}
    assert scrubber.uri("http://127.0.0.1:1/v1") == "http://127.0.0.1:1/v1"
