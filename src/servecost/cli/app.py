"""The command line's app: typer declarations -> a request (schema) -> a command (commands.py) -> report.
This module holds the app, the choices, the shared parsing helpers and `main`; the commands are
in fleet.py (plan, frontier, batch-discount, power, outlook, predict), calibration.py (validate,
calibrate, measure), simulation.py (simulate, sweep) and catalogue.py (models, hardware, serve)."""

import sys
from enum import Enum
from typing import Annotated, Optional

import numpy as np
import typer

from ..errors import InputError

app = typer.Typer(add_completion=False, no_args_is_help=False, pretty_exceptions_enable=False,
                  help="servecost: what it costs to serve an LLM to N users at S tokens/s, on which hardware.")


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class Phase(str, Enum):
    decode = "decode"
    prefill = "prefill"


class PrecisionChoice(str, Enum):
    native = "native"
    all = "all"


class Pricing(str, Enum):
    own = "own"
    cloud = "cloud"


# Options several commands share, declared once (typer reads the help from the annotation).
ModelOpt = Annotated[str, typer.Option(help="Catalogue id or path to a Hugging Face config.json.")]
HardwareOpt = Annotated[str, typer.Option(help="Comma list of hardware ids; default: the whole catalogue.")]
EngineOpt = Annotated[str, typer.Option(help="Serving engine whose calibrated factors apply (trtllm, vllm, sglang); "
                                             "default: the all-engine fit.")]
ProfileOpt = Annotated[Optional[str], typer.Option(help="Efficiency profile YAML (from `servecost calibrate` or "
                                                        "`servecost measure`).")]
HardwareFileOpt = Annotated[Optional[str], typer.Option("--hardware-file", help="Your own chips: YAML or CSV with "
                                                        "the catalogue's columns (`servecost hardware --format csv`).")]
FormatOpt = Annotated[Format, typer.Option("--format", help="Output format.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite existing output files.")]
PueOpt = Annotated[float, typer.Option(help="Facility power / IT power.")]
UsdPerKwhOpt = Annotated[float, typer.Option(help="Electricity price, $/kWh.")]
PricingOpt = Annotated[Pricing, typer.Option(help="own: buy and run the hardware; cloud: rent per chip-hour.")]
SpeculationOpt = Annotated[str, typer.Option(help="Speculative decoding searched: auto (none, MTP with 1 and 3 drafts "
                                                  "where the model ships MTP heads, EAGLE-3 where a head is "
                                                  "published), none, mtp1, mtp3, eagle3.")]
NoSpeculationOpt = Annotated[bool, typer.Option("--no-speculation", hidden=True, help="Same as --speculation none.")]
DisaggregationOpt = Annotated[bool, typer.Option(help="Search disaggregated prefill/decode pools as well.")]
PrefillHardwareOpt = Annotated[str, typer.Option(help="Prefill pool on this accelerator (a mixed fleet: e.g. h100-sxm "
                                                      "prefill for groq-lpu decode); disaggregated options only.")]
PrefixTokensOpt = Annotated[int, typer.Option(help="Cached prefix each conversation keeps in memory between turns "
                                                   "(0: hit rate x input tokens).")]
ExpertRebalancingOpt = Annotated[bool, typer.Option(help="Wide expert parallelism rebalances expert load (EPLB); "
                                                         "off: uneven routing slows the busiest rank.")]
InputTokensOpt = Annotated[int, typer.Option(help="Prompt tokens per request.")]
OutputTokensOpt = Annotated[int, typer.Option(help="Output tokens per request.")]
PrefixCacheHitOpt = Annotated[float, typer.Option(help="Share of prompt tokens served from the prefix cache, 0..1.")]
PrecisionsOpt = Annotated[PrecisionChoice, typer.Option(help="native: the model's (or given) dtypes; all: also fp8 / "
                                                             "fp4 / int4 weights and fp8 KV where the chip runs them.")]


def _request(model_cls, **values):
    """The command's request model (schema.requests) from its options; paths on this machine allowed."""
    from .. import schema
    return schema.validate(model_cls, {"cli": True}, **values)


def _range(text: str, field: str) -> tuple[float, float]:
    """'low,high' as two numbers, low <= high."""
    parts = _split(text)
    if len(parts) != 2 or not all(_is_number(p) and np.isfinite(float(p)) for p in parts) \
            or float(parts[0]) > float(parts[1]) or float(parts[0]) < 0:
        raise InputError(f"{field}={text!r} must be 'low,high' with 0 <= low <= high, e.g. 0.8,1.2")
    return float(parts[0]), float(parts[1])


def _own_chips(path: Optional[str]) -> None:
    """Make the chips of a --hardware-file known, beside the catalogue, to this command."""
    if path:
        from .. import hardware as hw_cat, schema
        hw_cat.use_own(schema.load_hardware_file(path))


def _own_chips_and_chart(hardware_file: Optional[str], png: Optional[str], force: bool) -> None:
    """What a command with a chart checks before any work: the chips of its --hardware-file known, and a
    --png path it may write (a .png, not there unless --force)."""
    _own_chips(hardware_file)
    if png:
        from .. import schema
        schema.output_file(png, "--png", (".png",), force)


def _split(text: str) -> tuple[str, ...]:
    return tuple(h.strip() for h in text.split(",") if h.strip())


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True




def _usage_error(exc: Exception) -> bool:
    """A command-line usage error (click's UsageError, vendored or not): exit code 2, one message."""
    return hasattr(exc, "format_message") and getattr(exc, "exit_code", None) == 2


MAX_ERROR_CHARS = 400    # an error line quotes the input, never all of it


def one_line(text: str) -> str:
    """`text` on one line of at most MAX_ERROR_CHARS characters."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_ERROR_CHARS else line[:MAX_ERROR_CHARS - 3] + "..."


def main(argv: list[str] | None = None) -> None:
    """Entry point: bad input prints one line `error: ...` and exits 2, without a traceback."""
    from .. import hardware
    hardware.use_own([])    # your own chips are a command's (--hardware-file), never left from an earlier one
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="servecost", standalone_mode=False)
    except InputError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:
        if not _usage_error(exc):
            raise
        print(f"error: {one_line(exc.format_message())}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
