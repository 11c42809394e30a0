"""Errors as HTTP answers: bad input is a 422 with one line naming the field, as the CLI prints it;
nothing the client sends becomes a 5xx."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ..errors import InputError, short
from ..schema import FIXES

PREFIX = "Value error, "


class ErrorOut(BaseModel):
    """Every 4xx answer: one line naming the field, the value and a fix."""
    detail: str


def one_line(errors: list[dict]) -> str:
    """The first pydantic error as `field=value: problem; fix` (or the validator's own line)."""
    err = errors[0]
    if err.get("type") == "json_invalid":
        return f"body: not valid JSON ({err.get('ctx', {}).get('error', 'decode error')}); send a JSON object"
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "form")]
    name = ".".join(loc) or "body"
    msg = str(err.get("msg", "invalid"))
    if msg.startswith(PREFIX):     # our validators' messages name the field already
        return msg[len(PREFIX):]
    fix = FIXES.get(err.get("type", ""), "see /docs")
    if err.get("type") == "missing":
        return f"{name}: required; {fix}"
    return f"{name}={short(err.get('input'))}: {msg[:1].lower() + msg[1:]}; {fix}"


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
