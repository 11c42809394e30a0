"""The FastAPI app: the API under /api, the explorer page at /, its files (and plotly.js from the
Python plotly package, so the page works offline) under /static."""

import errno
import gzip
import socket
from functools import cache
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..errors import InputError
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


def _docs_assets() -> Path | None:
    """Swagger UI and ReDoc files shipped in the fastapi-offline package (None when it is missing)."""
    try:
        from importlib import resources
        folder = Path(str(resources.files("fastapi_offline") / "static"))
    except ImportError:
        return None
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


@cache
def _redoc_js(folder: str) -> bytes:
    """ReDoc's bundle with its one network fetch (the logo in its footer, from a CDN) pointed here."""
    js = (Path(folder) / "redoc.standalone.js").read_bytes()
    return js.replace(b"https://cdn.redoc.ly/redoc/logo-mini.svg", b"/static-docs/favicon.png")


def _offline_docs(app: FastAPI, assets: Path) -> None:
    """/docs and /redoc from local files, so they render with no network (FastAPI's load a CDN)."""
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

    @app.get("/static-docs/redoc.standalone.js", include_in_schema=False)
    async def redoc_js():
        return Response(_redoc_js(str(assets)), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/static-docs", StaticFiles(directory=assets), name="static-docs")

    @app.get("/docs", include_in_schema=False)
    async def docs():
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} API",
                                   swagger_js_url="/static-docs/swagger-ui-bundle.js",
                                   swagger_css_url="/static-docs/swagger-ui.css",
                                   swagger_favicon_url="/static-docs/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    async def redoc():
        return get_redoc_html(openapi_url=app.openapi_url, title=f"{app.title} API",
                              redoc_js_url="/static-docs/redoc.standalone.js",
                              redoc_favicon_url="/static-docs/favicon.png", with_google_fonts=False)


def create_app() -> FastAPI:
    assets = _docs_assets()
    offline = {"docs_url": None, "redoc_url": None} if assets else {}
    app = FastAPI(title="servecost", version=__version__, **offline,
                  description="What it costs to serve an LLM to N users at S tokens/s, on which hardware. "
                              "Each endpoint is a `servecost` command: the body takes the command's options "
                              "(same names) and the answer is its `--format json` (or `?format=csv`).")
    app.state.cpu = CpuSlots()
    app.state.answers = Answers()
    errors.install(app)
    app.include_router(api.router)
    if assets:
        _offline_docs(app, assets)
    app.router.on_shutdown.append(app.state.cpu.cancel_all)

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


GRACE_S = 3    # on SIGTERM: requests in flight get this long, then they are cancelled


def check_address(host: str, port: int) -> None:
    """InputError in one line when the server could not listen on host:port (bad, busy or privileged)."""
    if not 1 <= port <= 65535:
        raise InputError(f"port={port} is not a TCP port; give one from 1 to 65535, e.g. --port 8000")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError):
        raise InputError(f"host={host!r} is not an address of this machine; use 127.0.0.1 or 0.0.0.0") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise InputError(f"port={port}: {host}:{port} is in use by another program; stop it or pick "
                                 "another --port") from None
            if exc.errno == errno.EACCES:
                raise InputError(f"port={port}: ports below 1024 need root; pick another --port, e.g. 8000") from None
            raise InputError(f"host={host!r} port={port}: cannot listen there ({exc.strerror}); "
                             "use --host 127.0.0.1") from None


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the app with uvicorn (`workers` processes) until interrupted or sent SIGTERM."""
    import uvicorn
    check_address(host, port)
    uvicorn.run(f"{__name__}:create_app", factory=True, host=host, port=port, workers=workers, log_level="info",
                timeout_graceful_shutdown=GRACE_S)
