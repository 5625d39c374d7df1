"""The engines' JSON columns are encoded by msgspec: a document encoded once already
(`msgspec.Raw`) is written as it is, anything else as the standard library would read it back."""

from __future__ import annotations

import json

import msgspec

from infrastructure.db.engine import json_text


def test_an_encoded_document_is_written_as_it_is() -> None:
    encoded = b'{"id": "resp_1",  "output": [1, 2.5, "na\\u00efve"]}'
    assert json_text(msgspec.Raw(encoded)) == encoded.decode()


def test_a_value_reads_back_as_it_was() -> None:
    value = {"a": [1, 2**70, -0.5, None, True], "b": {"c": "naïve ☃ \x00"}, "d": []}
    assert json.loads(json_text(value)) == value
