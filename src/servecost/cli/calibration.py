"""`validate`, `calibrate`, `measure`: measured runs against the model, and the factors fitted on them."""

from pathlib import Path

import typer

from .. import report
from .app import (app, ForceOpt, Format, FormatOpt, HardwareOpt, ProfileOpt)


@app.command()
def validate(
    file: str = typer.Argument(..., help="Measured runs: calibration CSV, runs CSV or `vllm bench serve` JSON."),
    hardware: HardwareOpt = None,
    profile: ProfileOpt = None,
    format: FormatOpt = Format.table,
):
    """Predicted vs measured TTFT and TPOT per run, summarised and grouped; skipped runs with reasons."""
    from .. import commands

    result = commands.validate(file, hardware, commands.profiles_from(profile))
    report.emit(report.validate_output(result, format.value), format.value)


@app.command()
def calibrate(
    files: list[str] = typer.Argument(..., help="Measured runs: calibration CSV, runs CSV or vLLM JSON files."),
    hardware: HardwareOpt = None,
    output: str = typer.Option("profile.yaml", "-o", "--output", help="Profile YAML to write (use with --profile)."),
    force: ForceOpt = False,
):
    """Fit the efficiency factors (all engines, then per engine) to measured TTFT and TPOT by least
    squares on log error, and write a profile YAML."""
    from .. import commands, profiles
    from ..calibration.calibrate import fit_profiles
    from ..schema import output_file
    from ..calibration.validate import validate as run_validate

    output_file(output, "--output", (".yaml", ".yml"), force)
    runs = [run for f in files for run in commands.read_runs(f, hardware)]
    from datetime import date

    from .. import __version__
    meta = {"format": 1, "servecost": __version__, "fitted": date.today().isoformat(),
            "fitted_on": [Path(f).name for f in files], "runs": len(runs),
            "method": "scipy least_squares, soft-L1, on log(predicted/measured) TTFT and TPOT, device factors "
                      "bounded by the kernels' ceilings, then the TTFT terms on TTFT; "
                      "default on the NVIDIA runs, then one set per engine; per NVIDIA generation other than "
                      "Hopper one ratio of the per-kernel cost on TPOT ('engine/generation' sets); other "
                      "vendors' generations: "
                      "kernel factors on TPOT (servecost.calibration.calibrate)"}
    fitted = fit_profiles(runs, meta=meta)
    profiles.write(fitted, output)
    summary = run_validate(runs, fitted)["summary"]
    rows = {f"{metric} median APE (in-sample)": f"{s['median_ape']:.1%}" for metric, s in summary.items()}
    report.emit(report.record_output({"profile": output, "groups": ", ".join(fitted.groups) or "-"} | rows,
                                     "table"), "table")


@app.command()
def measure(
    model: str = typer.Option("llama-3.1-8b", help="A dense Llama-shaped model whose layer shapes are timed."),
    hardware: HardwareOpt = None,
    seconds: float = typer.Option(60.0, help="Time budget for the whole benchmark."),
    backend: str = typer.Option("auto", help="auto (torch if installed, else numpy), torch or numpy."),
    output: str = typer.Option("measured-profile.yaml", "-o", "--output", help="Profile YAML to write."),
    force: ForceOpt = False,
):
    """One-minute microbenchmark of the local accelerator (copy, GEMM, decode step, prefill) -> profile."""
    from .. import hardware as hw_cat, models, profiles
    from ..calibration import measure as bench
    from ..schema import MeasureInput, output_file, validate

    validate(MeasureInput, seconds=seconds, backend=backend)
    output_file(output, "--output", (".yaml", ".yml"), force)
    m = models.get(model)
    bench.llama_stack(m, 1)   # dense Llama-shaped models only: InputError otherwise
    hw = hw_cat.get(hardware) if hardware else None
    be = bench.backend(backend)
    settings = bench.Settings.for_backend(be, seconds)
    dtype = "bf16" if "bf16" in be.dtypes and be.on_gpu else "fp32"
    measured = bench.run(m, be, settings, dtype)
    shipped = profiles.shipped()
    rows = {"backend": f"{be.name} on {be.device}", "copy GB/s": measured["copy_bytes_per_s"] / 1e9}
    rows |= {f"GEMM {dt} TFLOP/s": v / 1e12 for dt, v in measured["gemm_flops_per_s"].items()}
    attn = measured["attention"]
    rows |= {"prefill attention TFLOP/s": attn["prefill_flops_per_s"] / 1e12,
             "decode attention GB/s per KV head (batch 1)": attn["decode_bytes_per_s_per_kv_head"] / 1e9,
             f"decode attention ns per (sequence, KV head) ({attn['item_batch']} sequences x "
             f"{attn['item_context']} keys)": attn["decode_item_s"] * 1e9,
             f"expert weights, {measured['experts']['experts']} experts x {measured['experts']['rows']} rows: "
             "share of the dense stream": measured["experts"]["stream_frac"]}
    rows |= {"decode step ms": measured["decode"]["step_s"] * 1e3, "prefill ms": measured["prefill"]["time_s"] * 1e3}
    default = shipped.default
    if hw:
        own = shipped.get(None, hw)    # the shipped set for the chip's generation
        default = bench.fit_factors(measured, m, hw, own)
        errors = bench.predict_errors(measured, m, hw, {"shipped": own, "measured": default})
        rows |= {"mem_bw_frac": default.mem_bw_frac, "gemm_flops_frac": default.gemm_flops_frac,
                 "attn_flops_frac": default.attn_flops_frac, "kv_stream_bytes_per_s": default.kv_stream_bytes_per_s,
                 "decode_attn_item_s": default.decode_attn_item_s,
                 "expert_mem_bw_frac": default.expert_mem_bw_frac, "layer_overhead_s": default.layer_overhead_s}
        rows |= {f"{name} profile: {k}": f"{v:+.1%}".replace("-0.0%", "+0.0%") for name, e in errors.items()
                 for k, v in e.items()}
        measured["predict_errors"] = errors
    out = profiles.Profiles(default=default, groups={}, meta={"format": 1, "measured": measured,
                                                             "hardware": hardware or "(not given)"})
    profiles.write(out, output)
    report.emit(report.record_output(rows | {"profile": output}, "table"), "table")
