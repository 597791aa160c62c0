"""Answers several dialects share: `{"message": "..."}` for an act with nothing else to give back
(a delete, a sign-out). QAssure's dialect answers such rows as `{success, message}`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.rest.rows import Call, Shape


class Message(BaseModel):
    message: str


def message(text: str) -> Shape:
    """The shape of an answer that only says `text`."""

    def shape(_value: Any, _call: Call) -> dict[str, str]:
        return {"message": text}

    return shape
