"""The HTTP floor of the API benchmark: the same stack (uvicorn, FastAPI, a sync handler run in
the thread pool, a pydantic response) answering a constant JSON body, with nothing behind it."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Answer(BaseModel):
    code: str
    status: int


@app.get("/floor", response_model=Answer)
def floor() -> Answer:
    return Answer(code="000.00.71.H26-261126-0001", status=1)
