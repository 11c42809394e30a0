"""The endpoints: one per CLI command, JSON in (the CLI's option names) and the CLI's `--format json`
(or `csv`) out."""

import json
import math
import re
import tempfile
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from .. import commands, models as model_cat, report
from ..errors import InputError, short, suggest
from ..schema import BatchRequest, FrontierRequest, OutlookRequest, PlanRequest, PowerRequest, PredictRequest
from ..sim.schema import ScenarioIn
from .errors import ErrorOut
from .limits import MAX_BODY_BYTES, MAX_RUNS, cancel_event

UPLOAD_SUFFIXES = (".csv", ".json", ".jsonl")

Format = Literal["json", "csv"]
FORMAT = Query("json", description="json (as `--format json`) or csv (as `--format csv`).")
ERRORS = {400: {"model": ErrorOut, "description": "A body that cannot be parsed"},
          422: {"model": ErrorOut, "description": "Bad input: one line naming the field"},
          413: {"model": ErrorOut, "description": f"Body over {MAX_BODY_BYTES:,} bytes"},
          429: {"model": ErrorOut, "description": "Server busy; retry"}}
OUTPUT = {200: {"description": "The CLI's output in the asked format",
                "content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}}}}}

router = APIRouter(prefix="/api", responses=ERRORS | OUTPUT)


def _finite(value):
    """NaN and infinities as null: JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _answer(text: str, fmt: str) -> Response:
    if fmt == "csv":
        return Response(text, media_type="text/csv")
    if "NaN" in text or "Infinity" in text:
        text = json.dumps(_finite(json.loads(text)), indent=2)
    return Response(text, media_type="application/json")


async def _run(request: Request, fn, *args, cache: bool = True, kind: str = "core") -> Response:
    """Run `fn(*args)` (the last is the format) in a CPU slot, or take its answer from the cache."""
    key = (fn.__name__, *(a.model_dump_json() if isinstance(a, BaseModel) else a for a in args))
    text = request.app.state.answers.get(key) if cache else None
    if text is None:
        text = await request.app.state.cpu.run(fn, *args, request=request, kind=kind)
        if cache:
            request.app.state.answers.put(key, text)
    return _answer(text, args[-1])


def _plan(req: PlanRequest, fmt: str) -> str:
    return report.plan_output(commands.plan(req), fmt)


def _frontier(req: FrontierRequest, fmt: str) -> str:
    return report.frontier_output(commands.frontier(req).as_dict(), fmt)


def _batch_discount(req: BatchRequest, fmt: str) -> str:
    r = commands.batch_discount(req)
    return report.batch_output(r.tiers, r.scenario, r.assumptions, r.deadline_hours, r.peak_to_mean, fmt,
                               r.unserved)


def _power(req: PowerRequest, fmt: str) -> str:
    r = commands.power(req)
    return report.power_output(r.table, r.speeds, r.budget_mw, r.model_name, fmt)


def _outlook(req: OutlookRequest, fmt: str) -> str:
    return report.outlook_output(commands.outlook(req), fmt)


def _predict(req: PredictRequest, fmt: str) -> str:
    return report.record_output(commands.predict(req), fmt)


def _catalogue(kind: str, fmt: str) -> str:
    return (report.models_output if kind == "models" else report.hardware_output)(fmt)


@router.get("/models", summary="The model catalogue (servecost models)")
async def models(request: Request, format: Format = FORMAT):
    return await _run(request, _catalogue, "models", format)


@router.get("/hardware", summary="The hardware catalogue (servecost hardware)")
async def hardware(request: Request, format: Format = FORMAT):
    return await _run(request, _catalogue, "hardware", format)


@router.post("/predict", summary="One decode step or prefill on one replica (servecost predict)")
async def predict(body: PredictRequest, request: Request, format: Format = FORMAT):
    return await _run(request, _predict, body, format)


@router.post("/plan", summary="Cheapest deployment per accelerator at the speed (servecost plan)")
async def plan(body: PlanRequest, request: Request, format: Format = FORMAT):
    return await _run(request, _plan, body, format)


@router.post("/frontier", summary="Throughput vs interactivity per accelerator (servecost frontier)")
async def frontier(body: FrontierRequest, request: Request, format: Format = FORMAT):
    return await _run(request, _frontier, body, format)


@router.post("/batch-discount", summary="Batch tier vs interactive cost (servecost batch-discount)")
async def batch_discount(body: BatchRequest, request: Request, format: Format = FORMAT):
    return await _run(request, _batch_discount, body, format)


@router.post("/power", summary="Users a power budget serves at each speed (servecost power)")
async def power(body: PowerRequest, request: Request, format: Format = FORMAT):
    return await _run(request, _power, body, format)


@router.post("/outlook", summary="The coming years' models on today's hardware (servecost outlook)")
async def outlook(body: OutlookRequest, request: Request, format: Format = FORMAT):
    return await _run(request, _outlook, body, format)


MAX_SIM_REQUESTS = 50_000      # requests one simulation over HTTP may draw (the CLI has no limit)
MAX_SIM_REPLICAS = 256


def _simulate(spec: ScenarioIn, fmt: str) -> str:
    """A scenario posted as JSON: the summary (`--format json`), or with csv one row per request (the
    `requests.csv` it writes). Paths on the server are refused; the run is bounded for a request."""
    from ..sim import limits as sim_limits
    from ..sim.run import run
    from ..sim.scenario import expected_requests
    w = spec.workload
    if spec.model.strip().lower() not in model_cat.catalogue():
        raise InputError(f"model={short(spec.model)}: over HTTP a simulation takes a catalogue id "
                         f"(GET /api/models){suggest(spec.model[:100], model_cat.catalogue())}")
    if w.trace or any(s.lengths_from for s in w.streams):
        raise InputError("workload.trace / lengths_from: files on the server are not read over HTTP; "
                         "use streams (or the CLI for traces)")
    if spec.fleet.replicas + spec.fleet.prefill_replicas > MAX_SIM_REPLICAS:
        raise InputError(f"fleet.replicas: at most {MAX_SIM_REPLICAS} replicas over HTTP (use the CLI for more)")
    expected = expected_requests(spec)
    if expected > MAX_SIM_REQUESTS:
        raise InputError(f"workload: about {expected:,.0f} requests; at most {MAX_SIM_REQUESTS:,} over HTTP: "
                         "lower rate_per_s or duration_s (or use the CLI)")
    result = run(spec, limits=sim_limits.API, cancel=cancel_event())
    if fmt == "csv":
        return result.requests_frame().to_csv(index=False, float_format="%.6g")
    return json.dumps(result.as_dict(), indent=2)


@router.post("/simulate", summary="Discrete-event simulation of a fleet (servecost simulate SCENARIO.yaml)")
async def simulate(body: ScenarioIn, request: Request, format: Format = FORMAT):
    """The body is the scenario YAML as JSON (see examples/); csv gives one row per request."""
    return await _run(request, _simulate, body, format, kind="sim")


@router.post("/validate", summary="Predicted vs measured runs of an uploaded file (servecost validate)")
async def validate(request: Request, file: UploadFile = File(..., description="Runs CSV, calibration CSV or "
                                                                             "`vllm bench serve` JSON"),
                   hardware: str | None = Form(None, max_length=64, description="Hardware id for vLLM JSON."),
                   format: Format = FORMAT):
    name = _upload_name(file.filename)
    content = await file.read()
    with tempfile.TemporaryDirectory(prefix="servecost-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        return await _run(request, _validate_file, path, hardware, format, cache=False)


def _upload_name(filename: str | None) -> str:
    """A safe local name keeping the upload's suffix, which tells the format."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename or "").name)[-64:].lstrip(".") or "upload.csv"
    if not name.lower().endswith(UPLOAD_SUFFIXES):
        raise InputError(f"file={filename!r}: give a .csv (runs or calibration) or .json (vllm bench serve) file")
    return name


def _validate_file(path: Path, hardware: str | None, fmt: str) -> str:
    """Validate an uploaded file; a file the readers choke on is the client's, so a 422 names it."""
    try:
        return report.validate_output(commands.validate(path, hardware, max_runs=MAX_RUNS), fmt)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"file={path.name!r} could not be read as runs ({type(exc).__name__}: {exc})") from None
