"""Errors as HTTP answers: bad input is a 422 with one line naming the field, as the CLI prints it;
nothing the client sends becomes a 5xx."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ..errors import InputError
from ..schema import one_line as schema_one_line


class ErrorOut(BaseModel):
    """Every 4xx answer: one line naming the field, the value and a fix."""
    detail: str


def one_line(errors: list[dict]) -> str:
    """The first pydantic error as the CLI prints it (schema.one_line), the fix pointing at /docs."""
    return schema_one_line(errors, "see /docs")


MAX_DETAIL_CHARS = 400   # a detail quotes the input, never all of it


def _capped(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_DETAIL_CHARS else line[:MAX_DETAIL_CHARS - 3] + "..."


def install(app: FastAPI) -> None:
    """Map request validation errors and InputError to 422 {"detail": one line}."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": _capped(one_line(list(exc.errors())))}, status_code=422)

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError):
        return JSONResponse({"detail": _capped(str(exc))}, status_code=422)
