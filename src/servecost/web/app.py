"""The FastAPI app: the API under /api, the explorer page at /, its files (and plotly.js from the
Python plotly package, so the page works offline) under /static."""

import gzip
from functools import cache
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from .. import __version__
from . import api, errors
from .cache import Answers
from .limits import BodyLimit, CpuSlots

STATIC = Path(__file__).parent / "static"


@cache
def _plotly_js(gzipped: bool) -> bytes:
    """plotly.js (4.8 MB), compressed once rather than per request."""
    from plotly.offline import get_plotlyjs
    js = get_plotlyjs().encode()
    return gzip.compress(js, 6) if gzipped else js


def create_app() -> FastAPI:
    app = FastAPI(title="servecost", version=__version__,
                  description="What it costs to serve an LLM to N users at S tokens/s, on which hardware. "
                              "Each endpoint is a `servecost` command: the body takes the command's options "
                              "(same names) and the answer is its `--format json` (or `?format=csv`).")
    app.state.cpu = CpuSlots()
    app.state.answers = Answers()
    errors.install(app)
    app.include_router(api.router)

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC / "index.html")

    @app.get("/static/plotly.min.js", include_in_schema=False)
    async def plotly_js(request: Request):
        gzipped = "gzip" in request.headers.get("accept-encoding", "")
        headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
        return Response(_plotly_js(gzipped), media_type="text/javascript",
                        headers=headers | ({"Content-Encoding": "gzip"} if gzipped else {}))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.add_middleware(BodyLimit)
    return app


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the app with uvicorn (`workers` processes) until interrupted."""
    import uvicorn
    uvicorn.run(f"{__name__}:create_app", factory=True, host=host, port=port, workers=workers, log_level="info")
