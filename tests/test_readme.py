"""README.md cannot rot: every `servecost` command and Python block it shows runs (exit 0), and the
figures it quotes from a command's output are what that command prints on this commit, to the digits
the README prints (prose figures: tests/data/readme_figures.yaml, each with the README sentence it
comes from; tables: read from the README itself). A change that moves a figure fails here, naming the
README sentence; re-measure the README with the command named in the failure."""

import contextlib
import contextvars
import functools
import io
import json
import os
import re
import shlex
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from servecost.cli import main

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
FIGURES = yaml.safe_load((Path(__file__).parent / "data" / "readme_figures.yaml").read_text())
SHORT_S = 10    # the batch-tier day compressed to 10 s instead of an hour: the same path, 1/360 the requests


# ---- running a command as the README does ----------------------------------------------------------

def cli(argv: list[str]) -> tuple[int, str, str]:
    """`servecost ARGV` in process: (exit code, stdout, stderr). It runs in a fresh context, as in a new
    process: chips an earlier command in this process read from a --hardware-file (a context variable
    the CLI sets and does not clear) are not known to it."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exc:
        contextvars.Context().run(main, argv)
        raise SystemExit(0)
    return exc.value.code, out.getvalue(), err.getvalue()


@functools.lru_cache(maxsize=None)
def output(command: str) -> dict:
    """The parsed JSON that `servecost COMMAND` (with --format json) prints, computed once per command."""
    with contextlib.chdir(REPO):
        code, out, err = cli(shlex.split(command))
    assert code == 0, f"`servecost {command}` exited {code}: {err.strip()}"
    return json.loads(out)


def short_batch_tier(folder: Path) -> tuple[Path, Path]:
    """examples/batch-tier.yaml and its sweep with the day compressed to SHORT_S seconds, written to `folder`."""
    scenario = yaml.safe_load((REPO / "examples" / "batch-tier.yaml").read_text())
    scenario["duration_s"] = SHORT_S
    for stream in scenario["workload"]["streams"]:
        stream.update({k: SHORT_S for k in ("day_s", "deadline_s") if k in stream})
    sweep = yaml.safe_load((REPO / "examples" / "batch-tier-sweep.yaml").read_text())
    sweep["scenario"] = "short-batch-tier.yaml"
    sweep["grid"] = {key: values[:2] for key, values in sweep["grid"].items()}
    (folder / "short-batch-tier.yaml").write_text(yaml.safe_dump(scenario))
    (folder / "short-batch-tier-sweep.yaml").write_text(yaml.safe_dump(sweep))
    return folder / "short-batch-tier.yaml", folder / "short-batch-tier-sweep.yaml"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder that looks like the repository root (examples/, src/, tests/ linked), so the README's
    relative paths resolve and what a command writes (-o, --png) lands in tmp_path; plus the files
    the README's placeholders stand for (my-model/config.json, my.yaml, the short batch tier)."""
    for name in ("examples", "src", "tests"):
        (tmp_path / name).symlink_to(REPO / name)
    (tmp_path / "my-model").mkdir()
    shutil.copy(REPO / "src/servecost/data/configs/llama-3.1-8b.json", tmp_path / "my-model" / "config.json")
    shutil.copy(REPO / "src/servecost/data/roster.yaml", tmp_path / "my.yaml")
    short_batch_tier(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path


# ---- every command in the README ---------------------------------------------------------------------

def readme_commands(text: str = README) -> list[str]:
    """Every `servecost ...` command the README shows: in bash / plain code blocks (one per `&&`
    segment, comments dropped) and in inline code spans; in order of appearance, once each."""
    found, fence = [], None
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fence = None if fence is not None else line.strip()[3:]
            continue
        if fence == "python":
            continue
        spans = re.findall(r"`([^`]+)`", line) if fence is None or "`" in line else line.split("#")[0].split("&&")
        for span in spans:
            m = re.search(r"(?:^|[\s/$])(servecost [a-z][^`]*)$", span.strip())
            if m:
                found.append(" ".join(m.group(1).split()))
    return list(dict.fromkeys(found))


def test_readme_commands_reads_every_form():
    """Code-block lines (after `$ `, one per `&&`, comments dropped), inline spans; not Python blocks."""
    text = ("```bash\npip install x && .venv/bin/servecost plan   # note\n```\n```\n$ servecost models\n```\n"
            "```python\nfrom servecost import plan\n```\nrun `servecost power --budget-mw 1` or `plan --x`\n")
    assert readme_commands(text) == ["servecost plan", "servecost models", "servecost power --budget-mw 1"]


@dataclass(frozen=True)
class Run:
    argv: str            # what runs: the README's command with its placeholders made concrete
    why: str = ""        # how and why it differs from the README's text, if it does


@dataclass(frozen=True)
class Same:
    as_: str             # a command name in a table, covered by the README command that runs it


@dataclass(frozen=True)
class Skip:
    reason: str


PREDICT_DECODE = ("predict --model deepseek-v3 --hardware h200-sxm --phase decode --batch 64 --context 2048 "
                  "--tp 8 --pp 1 --ep 8 --dp-attn 1 --engine sglang --format json")
MEASURE = Skip("a benchmark of the local chip (a minute; ~10 s on the CPU even with --seconds 0.5 on Llama-shaped "
               "layers): tests/test_measure.py runs this command (numpy backend, a tiny model, 0.5 s budget)")
SERVE = Run("serve --host 127.0.0.1 --port 8000 --workers 1",
            "a free port for 8000, and uvicorn.run replaced by a recorder: the command checks its options and hands "
            "the app to uvicorn without serving (the served app: tests/test_web_api.py, test_reliability_server.py)")

COMMANDS = {
    "servecost plan": Run("plan"),
    "servecost plan --model llama-3.1-70b --users 10000 --speed 30 --hardware h100-sxm,mi300x,b200,tpu-v6e,cerebras-cs3":
        Run("plan --model llama-3.1-70b --users 10000 --speed 30 --hardware h100-sxm,mi300x,b200,tpu-v6e,cerebras-cs3"),
    "servecost plan --format json": Run("plan --format json"),
    "servecost predict --model M --hardware H --phase decode --batch B --context L [--tp --pp --ep --dp-attn] "
    "[--engine E] --format json": Run(PREDICT_DECODE, "M, H, B, L, E and the layout given concrete values"),
    "servecost predict ... --phase prefill --batch B --seq S":
        Run("predict --model llama-3.1-70b --hardware h100-sxm --phase prefill --batch 2 --seq 4096"),
    "servecost validate FILE [--hardware H] [--format json]":
        Run("validate tests/data/amd_deepseek_r1_runs.csv --format json",
            "FILE: a file that names its hardware (--hardware is for vLLM JSON, tests/test_readers.py)"),
    "servecost calibrate FILE... -o profile.yaml":
        Run("calibrate src/servecost/data/calibration/amd_published_runs.csv -o profile.yaml",
            "FILE: the 15 published MI300X runs (the 2,018-run fit takes ~11 s; tests/test_calibrate.py)"),
    "servecost measure [--hardware H]": MEASURE,
    "servecost frontier --model M [--hardware ...] [--speed S] [-o frontier.html] [--png frontier.png] [--format json]":
        Run("frontier --model llama-3.1-8b --hardware h100-sxm,mi300x --speed 50 -o frontier.html "
            "--png frontier.png --format json"),
    "servecost batch-discount": Same("servecost batch-discount [--deadline-hours 24 --peak-to-mean 2 --png]"),
    "servecost power": Same("servecost power --budget-mw 100"),
    "servecost outlook": Same("servecost outlook --years 3 [--roster my.yaml --png]"),
    "servecost models": Run("models"),
    "servecost hardware": Run("hardware"),
    "servecost simulate SCENARIO.yaml [-o results/]": Run("simulate examples/closed-loop-benchmark.yaml -o results/"),
    "servecost sweep SWEEP.yaml [--ray ADDRESS] [-o table.csv]":
        Same("servecost sweep examples/batch-tier-sweep.yaml -o sweep.csv"),   # --ray: tests/test_sweep.py
    "servecost serve [--port 8000]": SERVE,
    "servecost plan --model ./my-model/config.json": Run("plan --model ./my-model/config.json",
                                                         "my-model/config.json: Llama-3.1-8B's Hugging Face config"),
    "servecost frontier --model deepseek-r1 --speed 50 -o frontier.html --png frontier.png":
        Run("frontier --model deepseek-r1 --speed 50 --hardware b200,tpu-v7,groq-lpu -o frontier.html --png frontier.png",
            "three of the 20 chips (all 20 with both charts take ~10 s; their JSON: test_frontier_stars_are_plans_picks)"),
    "servecost batch-discount [--deadline-hours 24 --peak-to-mean 2 --png]":
        Run("batch-discount --deadline-hours 24 --peak-to-mean 2 --png batch-discount.png"),
    "servecost power --budget-mw 100": Run("power --budget-mw 100"),
    "servecost outlook --years 3 [--roster my.yaml --png]":
        Run("outlook --years 3 --roster my.yaml --png outlook.png", "my.yaml: a copy of the shipped roster"),
    "servecost simulate examples/batch-tier.yaml -o results/":
        Run("simulate short-batch-tier.yaml -o results/",
            f"the batch tier over a {SHORT_S}-s day, not an hour (900k requests take ~50 s): the same streams, "
            "plan's deployment and scheduler; the full run's figures: SERVECOST_README_SLOW=1"),
    "servecost sweep examples/batch-tier-sweep.yaml -o sweep.csv":
        Run("sweep short-batch-tier-sweep.yaml -o sweep.csv --workers 1",
            f"two of its five rates over a {SHORT_S}-s day, in process (the process pool and Ray: tests/test_sweep.py)"),
    "servecost serve": Same("servecost serve [--port 8000]"),
    "servecost serve [--host 127.0.0.1 --port 8000 --workers 1]": Same("servecost serve [--port 8000]"),
    "servecost frontier": Same("servecost frontier --model deepseek-r1 --speed 50 -o frontier.html --png frontier.png"),
    "servecost predict": Same("servecost predict --model M --hardware H --phase decode --batch B --context L "
                              "[--tp --pp --ep --dp-attn] [--engine E] --format json"),
    "servecost simulate SCENARIO.yaml": Same("servecost simulate SCENARIO.yaml [-o results/]"),
    "servecost validate FILE": Same("servecost validate FILE [--hardware H] [--format json]"),
    "servecost validate": Run("validate tests/data/inferencex_runs.csv", "the InferenceX file its sentence is about"),
    "servecost validate src/servecost/data/calibration/aic_silicon_calibration.csv":
        Run("validate src/servecost/data/calibration/aic_silicon_calibration.csv"),
    "servecost predict --engine E":
        Run("predict --model llama-3.1-8b --hardware h100-sxm --phase decode --batch 1 --context 520 --engine vllm",
            "the public-decode table's first row"),
    "servecost calibrate FILE...": Same("servecost calibrate FILE... -o profile.yaml"),
    "servecost measure --hardware h100-sxm": MEASURE,
    "servecost hardware --format csv": Run("hardware --format csv"),
}


def test_every_readme_command_has_an_entry():
    """A command added to (or dropped from) the README needs its entry in COMMANDS."""
    shown = readme_commands()
    assert len(shown) >= 30
    missing = [c for c in shown if c not in COMMANDS]
    stale = [c for c in COMMANDS if c not in shown]
    assert not missing, f"README commands without an entry in tests/test_readme.py COMMANDS: {missing}"
    assert not stale, f"COMMANDS entries the README no longer shows: {stale}"
    for command, entry in COMMANDS.items():
        if isinstance(entry, Same):
            assert isinstance(COMMANDS.get(entry.as_), Run), f"{command!r} is covered by {entry.as_!r}, which does not run"


@pytest.mark.parametrize("command", [c if isinstance(e, Run) else pytest.param(c, marks=pytest.mark.skip(reason=e.reason))
                                     for c, e in COMMANDS.items() if not isinstance(e, Same)])
def test_readme_command_runs(command, workdir, monkeypatch):
    """Each README command (placeholders made concrete) exits 0, as `servecost` run from the repository root."""
    entry = COMMANDS[command]
    argv, served = shlex.split(entry.argv), []
    if argv[0] == "serve":
        uvicorn = pytest.importorskip("uvicorn")
        monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append((app, kw)))
        monkeypatch.setattr(uvicorn.Server, "run", lambda self, *a, **kw: served.append(self))
        argv[argv.index("--port") + 1] = str(free_port())
    code, out, err = cli(argv)
    assert code == 0, f"README `{command}` (run as `servecost {entry.argv}`) exited {code}: {err.strip()[-400:]}"
    if argv[0] == "serve":
        assert served, "serve did not hand its app to uvicorn"
    if "--format json" in entry.argv:
        json.loads(out)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def python_blocks(text: str = README) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_python_block_runs(workdir):
    """The README's Python blocks run (the batch-tier simulation over a SHORT_S-s day instead of an hour)."""
    blocks = python_blocks()
    assert blocks, "the README has no ```python block: drop this test or restore the block"
    for code in blocks:
        short = code.replace('"examples/batch-tier.yaml"', repr("short-batch-tier.yaml"))
        assert short != code or "batch-tier" not in code
        namespace = {}
        exec(compile(short, "README.md python block", "exec"), namespace)


# ---- figures the README quotes ------------------------------------------------------------------------

def flat(text: str) -> str:
    return " ".join(text.split())


def tolerance(value: str) -> float:
    """Half a unit of the last digit the README prints: '0.303' -> 0.0005, '17,280' -> 0.5."""
    digits = value.split(".")[1] if "." in value else ""
    return 0.5 * 10 ** -len(digits) * (1 + 1e-9)


def number(value: str) -> float:
    return float(value.replace(",", "").replace("$", "").replace("+", "").replace("x", "").rstrip("%"))


def mismatch(quote: str, value: str, measured, command: str, what: str) -> str | None:
    """None when the README's `value` is `measured` to its printed digits; else the line that says why not."""
    if isinstance(measured, str) or measured is None:
        ok = str(measured) == value
    else:
        ok = abs(number(value) - measured) <= tolerance(value.replace(",", ""))
    if ok:
        return None
    shown = f"{measured:.6g}" if isinstance(measured, float) else repr(measured)
    return f"README \"{quote}\" says {value}; `servecost {command}` prints {shown} ({what})"


def report(failures: list[str | None]) -> None:
    failures = [f for f in failures if f]
    assert not failures, ("README figures differ from what the commands print on this commit (re-measure the "
                          "README, and say why the figures moved):\n  " + "\n  ".join(failures))


def helpers(data: dict) -> dict:
    """Names a figure's `of` expression may use besides the JSON `j`."""
    def find(rows, **match):
        hits = [r for r in rows if all(r.get(k) == v for k, v in match.items())]
        assert len(hits) == 1, f"{len(hits)} rows match {match}"
        return hits[0]
    return {"j": data, "find": find, "opt": lambda hw: find(data["options"], hardware=hw),
            "sum": sum, "min": min, "max": max, "len": len}


@pytest.mark.parametrize("section", sorted({f["section"] for f in FIGURES}))
def test_prose_figures_match_their_commands(section):
    """Each figure in tests/data/readme_figures.yaml: its sentence is in the README, its value in the
    sentence, and the value is what the command prints (to the README's digits)."""
    failures = []
    for fig in (f for f in FIGURES if f["section"] == section):
        quote, value = flat(fig["readme"]), str(fig["value"])
        assert quote in flat(README), f"the README no longer says \"{quote}\": update tests/data/readme_figures.yaml"
        assert value in quote, f"figure {value} is not in its sentence \"{quote}\""
        measured = eval(fig["of"], {"__builtins__": {}, **helpers(output(fig["command"]))})
        failures.append(mismatch(quote, value, measured, fig["command"], fig["of"]))
    report(failures)


def readme_table(header_start: str) -> list[tuple[str, list[str]]]:
    """(line, cells) of each body row of the README table whose header row starts with `header_start`."""
    lines = README.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(header_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.strip().startswith("|"):
            break
        rows.append((line.strip(), [c.strip() for c in line.strip().strip("|").split("|")]))
    assert rows, f"README table '{header_start}' has no rows"
    return rows


def test_headline_table_is_what_plan_prints():
    """The headline table's after-columns: the order, $/Mtok, chips, prefill:decode, MW and kW per chip."""
    command = "plan --format json"
    options = output(command)["options"]
    rows = readme_table("| rank (before) | accelerator |")
    assert len(rows) == len(options), f"the headline table has {len(rows)} rows, `servecost {command}` {len(options)}"
    failures = []
    for (line, cells), o in zip(rows, options):
        quote = line[:60] + "..."
        failures.append(mismatch(quote, cells[1], o["hardware"], command, "the accelerator at this rank"))
        if cells[1] != o["hardware"]:
            continue
        mw, kw = re.fullmatch(r"([\d,.]+) \(([\d.]+)\)", cells[6]).groups()
        ratio = "agg" if o["mode"] == "aggregated" else o["prefill_decode_chip_ratio"]
        failures += [mismatch(quote, cells[3].lstrip("$"), o["usd_per_mtok_output"], command, "usd_per_mtok_output"),
                     mismatch(quote, cells[4], o["chips"], command, "chips"),
                     mismatch(quote, cells[5], ratio, command, "prefill_decode_chip_ratio"),
                     mismatch(quote, mw, o["power_mw"], command, "power_mw"),
                     mismatch(quote, kw, o["power_mw"] * 1e3 / o["chips"], command, "power_mw / chips, kW")]
    report(failures)


def test_every_plan_row_costs_its_fleet():
    """'$/Mtok x demanded Mtok/hour = $/hour' on every row, with --precisions all too (the Cerebras sentence)."""
    for command in ("plan --format json", "plan --precisions all --hardware cerebras-cs3,groq-lpu --format json"):
        for o in output(command)["options"]:
            assert o["usd_per_mtok_output"] * o["demanded_mtok_per_hour"] == pytest.approx(o["usd_per_hour"]), (
                f"`servecost {command}`: {o['hardware']} $/Mtok x demanded Mtok/hour != $/hour, "
                "as the README's 'One objective' paragraph says it is")


def test_batch_discount_table_is_what_batch_discount_prints():
    """The batch tier's family table: cheapest batch and interactive chips, their $/Mtok, both discounts."""
    command = "batch-discount --format json"
    families = {f["family"]: f for f in output(command)["by_family"]}
    rows = readme_table("| family | cheapest batch |")
    assert {cells[0] for _, cells in rows} == set(families)
    failures = []
    for line, cells in rows:
        f = families[cells[0]]
        failures += [mismatch(line, cells[1], f["batch_hardware"], command, "batch_hardware"),
                     mismatch(line, cells[2].lstrip("$"), f["batch_usd_per_mtok"], command, "batch_usd_per_mtok"),
                     mismatch(line, cells[3], f["interactive_hardware"], command, "interactive_hardware"),
                     mismatch(line, cells[4].lstrip("$"), f["interactive_usd_per_mtok"], command,
                              "interactive_usd_per_mtok"),
                     mismatch(line, cells[5].rstrip("%"), f["discount_frac"] * 100, command, "discount_frac"),
                     mismatch(line, cells[6].rstrip("%"), f["discount_vs_cheapest_interactive_frac"] * 100, command,
                              "discount_vs_cheapest_interactive_frac")]
    report(failures)


def test_outlook_table_is_what_outlook_prints():
    """The three-year table: each year's chip, chips and $/Mtok for the keep and best strategies."""
    command = "outlook --years 3 --format json"
    strategies = {s["name"]: s["years"] for s in output(command)["strategies"]}
    rows = readme_table("| year | model | keep:")
    assert len(rows) == len(strategies["keep"])
    failures = []
    for line, cells in rows:
        year = int(cells[0])
        for name, cell in (("keep", cells[2]), ("best", cells[3])):
            chip, chips, usd = cell.split(", ")
            y = strategies[name][year]
            failures += [mismatch(line, chip, y["hardware"], command, f"strategies[{name}].years[{year}].hardware"),
                         mismatch(line, chips, y["chips"], command, f"strategies[{name}].years[{year}].chips"),
                         mismatch(line, usd.lstrip("$"), y["usd_per_mtok"], command,
                                  f"strategies[{name}].years[{year}].usd_per_mtok")]
    report(failures)


ENGINES = {"vLLM": "vllm", "SGLang": "sglang", "TensorRT-LLM": "trtllm"}


def test_public_decode_table_is_what_predict_prints():
    """Each row of the public Llama-3-8B / H100 decode table: `predict --engine E` ms and its error."""
    failures = []
    for line, cells in readme_table("| batch | context | engine | measured ms |"):
        batch, context, engine, measured, predicted, error = cells[:6]
        command = (f"predict --model llama-3.1-8b --hardware h100-sxm --phase decode --batch {batch} "
                   f"--context {context} --engine {ENGINES[engine.split()[0]]} --format json")
        ms = output(command)["step_s"] * 1e3
        failures += [mismatch(line, predicted, ms, command, "step_s x 1000"),
                     mismatch(line, error, (ms / float(measured) - 1) * 100, command, "step ms / measured - 1, %")]
    report(failures)


def test_amd_table_is_what_validate_prints():
    """The held-out AMD DeepSeek-R1 table: runs, TPOT median APE and median ratio, TTFT median APE per chip."""
    command = "validate tests/data/amd_deepseek_r1_runs.csv --format json"
    groups = output(command)["groups"]

    def group(chip, metric):
        return next(g for g in groups if g["by"] == "hardware" and g["value"] == chip and g["metric"] == metric)
    failures = []
    for line, cells in readme_table("| chip | runs | TPOT median APE, shipped |"):
        chip = cells[0].split()[0].lower()
        tpot, ttft = group(chip, "tpot"), group(chip, "ttft")
        ape, ratio = re.fullmatch(r"(\d+)% \(x([\d.]+)\)", cells[2]).groups()
        failures += [mismatch(line, cells[1], tpot["n"], command, f"groups[{chip}, tpot].n"),
                     mismatch(line, ape, tpot["median_ape"] * 100, command, f"groups[{chip}, tpot].median_ape"),
                     mismatch(line, ratio, 1 + tpot["median_signed_error"], command,
                              f"1 + groups[{chip}, tpot].median_signed_error"),
                     mismatch(line, cells[4].rstrip("%"), ttft["median_ape"] * 100, command,
                              f"groups[{chip}, ttft].median_ape")]
    report(failures)


def test_frontier_stars_are_plans_picks():
    """'stars mark the deployment plan picks at --speed (plan searches the same space, so the two agree)'."""
    chips = "b200,tpu-v7,groq-lpu"
    frontier = output(f"frontier --model deepseek-r1 --speed 50 --hardware {chips} --format json")
    plan = output(f"plan --model deepseek-r1 --speed 50 --precisions all --hardware {chips} --format json")
    picks = {o["hardware"]: o for o in plan["options"]}
    for curve in frontier["curves"]:
        star, pick = curve["plan_point"], picks[curve["hardware"]]
        assert (star["chips"], star["usd_per_mtok_output"]) == (pick["chips"], pytest.approx(pick["usd_per_mtok_output"])), (
            f"{curve['hardware']}: the frontier's star is not plan's pick, as the README's frontier section says")


def test_bad_input_line_is_the_one_the_readme_quotes():
    """The API section quotes the error line for users=0; the CLI prints the same line, exit code 2."""
    quoted = re.search(r'\{"detail": "([^"]+)"\}', flat(README)).group(1)
    code, _, err = cli(["plan", "--users", "0"])
    assert code == 2 and err.strip() == f"error: {quoted}", f"README quotes \"{quoted}\"; the CLI prints {err!r}"


@pytest.mark.skipif(not os.environ.get("SERVECOST_README_SLOW"),
                    reason="simulates 900k requests (~50 s); SERVECOST_README_SLOW=1 runs it")
def test_batch_tier_row_is_what_the_example_simulates(workdir):
    """The batch-tier table's row at the example's own batch rate is `servecost simulate examples/batch-tier.yaml`."""
    command = "simulate examples/batch-tier.yaml --format json"
    s = output(command)
    rate = yaml.safe_load((REPO / "examples" / "batch-tier.yaml").read_text())["workload"]["streams"][1]["rate_per_s"]
    line, cells = next((line, cells) for line, cells in readme_table("| batch req/s |") if cells[0] == f"{rate:g}")
    batch = s["classes"]["batch"]
    inter = s["classes"]["interactive"]
    report([mismatch(line, cells[1], batch["output_tokens_done"] / 1e6, command, "batch output_tokens_done / 1e6"),
            mismatch(line, cells[3], batch["deadline_misses"], command, "batch deadline_misses"),
            mismatch(line, cells[4].removesuffix(" ms"), inter["ttft_s"]["p99"] * 1e3, command, "interactive TTFT p99"),
            mismatch(line, cells[5].removesuffix(" ms"), inter["tpot_s"]["p99"] * 1e3, command, "interactive TPOT p99"),
            mismatch(line, cells[7], s["fleet"]["preemptions"], command, "fleet preemptions"),
            mismatch(line, cells[8], s["fleet"]["energy_j_per_output_token"], command, "J per output token"),
            mismatch(line, cells[9].lstrip("$"), s["cost"]["usd_per_mtok_output"], command, "usd_per_mtok_output")])
