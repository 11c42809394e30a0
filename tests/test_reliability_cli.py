"""Outputs are checked before the work, and commands fail honestly: one line, exit 2, nothing written."""

import time

import pytest

from servecost.cli import main

PLAN = ["plan", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--users", "1000"]


def _exit(argv, capsys) -> tuple[int, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    return code, capsys.readouterr().err


@pytest.mark.parametrize("png, expect", [("/nonexistent/x.png", "does not exist"), ("/tmp", "is a folder"),
                                         ("chart.jpg", "ending in .png")])
def test_png_is_checked_before_planning(capsys, png, expect):
    code, err = _exit(PLAN + ["--png", png], capsys)
    assert code == 2 and expect in err and err.count("\n") == 1


def test_existing_output_needs_force(tmp_path, capsys):
    out = tmp_path / "c.png"
    out.write_bytes(b"old")
    code, err = _exit(PLAN + ["--png", str(out)], capsys)
    assert code == 2 and "--force" in err and out.read_bytes() == b"old"
    code, _ = _exit(PLAN + ["--png", str(out), "--force", "--format", "json"], capsys)
    assert code == 0 and out.read_bytes()[:4] == b"\x89PNG"


def test_calibrate_output_folder_is_refused(capsys, tmp_path):
    runs = tmp_path / "runs.csv"
    runs.write_text("model,hardware,concurrency,input_tokens,output_tokens,ttft_ms,tpot_ms\n")
    code, err = _exit(["calibrate", str(runs), "-o", "/tmp"], capsys)
    assert code == 2 and "is a folder" in err


def test_calibrate_refuses_zero_usable_runs(tmp_path, capsys):
    runs = tmp_path / "runs.csv"
    runs.write_text("model,hardware,concurrency,input_tokens,output_tokens,ttft_ms,tpot_ms\n"
                    "not-a-model,h100-sxm,8,1000,500,100,20\n")
    out = tmp_path / "p.yaml"
    code, err = _exit(["calibrate", str(runs), "-o", str(out)], capsys)
    assert code == 2 and "none of the 1 runs" in err and not out.exists()


def test_validate_exits_2_on_an_empty_file(tmp_path, capsys):
    runs = tmp_path / "runs.csv"
    runs.write_text("model,hardware,concurrency,input_tokens,output_tokens,ttft_ms,tpot_ms\n")
    code, err = _exit(["validate", str(runs)], capsys)
    assert code == 2 and err.startswith("error: ")


@pytest.mark.parametrize("column, value, reason", [("tp", "1000000000000000000", "tp="),
                                                   ("engine", "tensorflow", "engine='tensorflow'")])
def test_validate_skips_impossible_rows_with_the_reason(tmp_path, capsys, column, value, reason):
    import json
    header = "model,hardware,engine,concurrency,input_tokens,output_tokens,ttft_ms,tpot_ms,tp"
    good = "llama-3.1-70b,h100-sxm,vllm,8,1000,500,120,20,4"
    bad = dict(zip(header.split(","), good.split(","))) | {column: value}
    runs = tmp_path / "runs.csv"
    runs.write_text(header + "\n" + good + "\n" + ",".join(bad.values()) + "\n")
    try:
        main(["validate", str(runs), "--format", "json"])
    except SystemExit as exc:
        assert not exc.code
    out = json.loads(capsys.readouterr().out)
    assert out["predicted"] == 1 and reason in out["skipped"][0]["reason"]


def test_sweep_output_is_checked_before_the_sweep(capsys, tmp_path):
    t0 = time.perf_counter()
    code, err = _exit(["sweep", "examples/batch-tier-sweep.yaml", "-o", str(tmp_path / "missing" / "x.csv")], capsys)
    assert code == 2 and "does not exist" in err and time.perf_counter() - t0 < 5


def test_sweep_grid_is_bounded_before_it_starts(tmp_path, capsys):
    sweep = tmp_path / "s.yaml"
    sweep.write_text("scenario: {model: llama-3.1-8b, hardware: h100-sxm, workload: {streams: [{rate_per_s: 1}]}}\n"
                     "grid:\n" + "".join(f"  seed{i}: [{', '.join(map(str, range(10)))}]\n" for i in range(9)))
    t0 = time.perf_counter()
    code, err = _exit(["sweep", str(sweep)], capsys)
    assert code == 2 and "grid" in err and time.perf_counter() - t0 < 5


def test_simulate_output_file_in_place_of_folder(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    code, err = _exit(["simulate", "examples/closed-loop-benchmark.yaml", "-o", str(f)], capsys)
    assert code == 2 and "is a file" in err


def test_error_lines_are_capped(tmp_path, capsys):
    code, err = _exit(["plan", "--model", "x" * 5000], capsys)
    assert code == 2 and len(err) < 450


def test_measure_output_checked_before_measuring(capsys):
    t0 = time.perf_counter()
    code, err = _exit(["measure", "--backend", "numpy", "-o", "/nonexistent/p.yaml"], capsys)
    assert code == 2 and time.perf_counter() - t0 < 5


def test_serve_on_a_busy_port_is_one_line(capsys):
    import socket
    pytest.importorskip("uvicorn")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        code, err = _exit(["serve", "--port", str(s.getsockname()[1])], capsys)
    assert code == 2 and "in use" in err and err.count("\n") == 1


@pytest.fixture
def bad_files(tmp_path):
    (tmp_path / "adir").mkdir()
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01\xff\xfe")
    (tmp_path / "hdr.csv").write_text("arrival_s,input_tokens,output_tokens\n")
    (tmp_path / "dead.csv").write_text("arrival_s,input_tokens,output_tokens,class,deadline_s\n0,10,10,batch,-5\n")
    return tmp_path


def _scenario(tmp_path, workload: dict) -> str:
    import yaml
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"model": "llama-3.1-8b", "hardware": "h100-sxm", "deployment": {"tp": 1},
                                    "duration_s": 10, "workload": workload}))
    return str(path)


@pytest.mark.parametrize("argv", [
    ["plan", "--profile", "{d}/adir"], ["plan", "--profile", "{d}/bin.csv"],
    ["plan", "--monte-carlo", "100", "--price-range", "nan,1"], ["plan", "--kwh-range", "0,1e400", "--monte-carlo", "100"],
    ["simulate", "examples/closed-loop-benchmark.yaml", "--seed", "-1"],
    ["simulate", "examples/closed-loop-benchmark.yaml", "-o", "/proc/servecost-out"],
    ["validate", "{d}/adir"], ["validate", "{d}/bin.csv"], ["calibrate", "{d}/bin.csv", "-o", "{d}/p.yaml"],
    ["plan", "--model", "{d}/adir"], ["plan", "--model", "x" * 300 + ".json"]])
def test_bad_files_and_values_exit_2(bad_files, capsys, argv):
    argv = [a.replace("{d}", str(bad_files)) for a in argv]
    code, err = _exit(argv, capsys)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert not (bad_files / "p.yaml").exists()


@pytest.mark.parametrize("workload, expect", [
    ({"trace": "{d}/adir"}, "is a folder"), ({"trace": "{d}/dead.csv"}, "deadline_s"),
    ({"streams": [{"rate_per_s": 1, "lengths_from": "{d}/hdr.csv"}]}, "no rows"),
    ({"streams": [{"rate_per_s": 1, "lengths_from": "{d}/adir"}]}, "is a folder")])
def test_bad_trace_files_exit_2(bad_files, capsys, workload, expect):
    import json
    workload = json.loads(json.dumps(workload).replace("{d}", str(bad_files)))
    code, err = _exit(["simulate", _scenario(bad_files, workload)], capsys)
    assert code == 2 and expect in err and err.count("\n") == 1, err


def test_negative_sweep_seed_exits_2(tmp_path, capsys):
    sweep = tmp_path / "s.yaml"
    sweep.write_text("scenario: {model: llama-3.1-8b, hardware: h100-sxm, workload: {streams: [{rate_per_s: 1}]}}\n"
                     "seeds: [-1]\n")
    code, err = _exit(["sweep", str(sweep)], capsys)
    assert code == 2 and "seeds" in err


@pytest.mark.parametrize("argv", [["plan", "--model", "{z}.json"], ["validate", "{z}.csv"], ["simulate", "{z}.yaml"],
                                  ["plan", "--profile", "{z}.yaml"], ["outlook", "--roster", "{z}.yaml"],
                                  ["outlook", "--roster", "{d}"], ["plan", "--hardware-file", "{z}.yaml"]])
@pytest.mark.skipif(not __import__("os").path.exists("/dev/zero"), reason="needs /dev/zero")
def test_devices_and_folders_are_refused_not_read(tmp_path, capsys, argv):
    """A path to /dev/zero (or a FIFO) would be read forever; a folder is not a file."""
    for ext in ("json", "csv", "yaml"):
        (tmp_path / f"zero.{ext}").symlink_to("/dev/zero")
    argv = [a.replace("{z}", str(tmp_path / "zero")).replace("{d}", str(tmp_path)) for a in argv]
    t0 = time.perf_counter()
    code, err = _exit(argv, capsys)
    assert code == 2 and err.count("\n") == 1 and time.perf_counter() - t0 < 10, err
