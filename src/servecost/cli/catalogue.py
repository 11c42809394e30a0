"""`models`, `hardware`, `serve`: the catalogues, and the web explorer with the HTTP API."""


import typer

from .. import report
from ..errors import InputError
from .app import (app, Format, FormatOpt)


@app.command("models")
def list_models(format: FormatOpt = Format.table):
    """The model catalogue: parameters, dtypes, KV per token, sources."""
    report.emit(report.models_output(format.value), format.value)


@app.command("hardware")
def list_hardware(format: FormatOpt = Format.table):
    """The hardware catalogue: FLOP/s, memory, links, power, price, sources."""
    report.emit(report.hardware_output(format.value), format.value)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Server processes (each computes one request per CPU at a time)."),
):
    """The web explorer at / and the HTTP API under /api (OpenAPI at /docs);
    needs the web extra: pip install 'servecost\\[web]'."""
    from .. import schema
    schema.validate(schema.ServeInput, port=port, workers=workers)
    try:
        from ..web.app import serve as run_server
    except ImportError as exc:
        raise InputError(f"serve needs the web extra ({exc.name} is missing): pip install 'servecost[web]'") from None
    run_server(host, port, workers)
