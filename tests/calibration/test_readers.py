"""Measured-run readers: the vLLM bench JSON and the runs CSV, and one-line errors for bad files."""

import json
from collections import defaultdict
from importlib import resources

import pandas as pd
import pytest

from servecost.dtypes import canonical
from servecost.errors import InputError
from servecost.calibration.cells import _quant
from servecost.calibration.readers import read_aic_csv, read_runs
from servecost.units import MS
from servecost.calibration.validate import validate

CALIBRATION = resources.files("servecost").joinpath("data/calibration/aic_silicon_calibration.csv")

# A `vllm bench serve --save-result --metadata hardware=h100-sxm tp=1` result, with the fields that
# vllm/benchmarks/serve.py writes (values made up for the test, shapes as documented).
VLLM_RESULT = {
    "date": "20261126-120000", "endpoint_type": "vllm", "backend": "vllm", "label": None,
    "model_id": "meta-llama/Llama-3.1-8B-Instruct", "tokenizer_id": "meta-llama/Llama-3.1-8B-Instruct",
    "num_prompts": 640, "hardware": "h100-sxm", "tp": "1", "request_rate": "inf", "burstiness": 1.0,
    "max_concurrency": 64, "duration": 60.2, "completed": 640, "total_input_tokens": 655360,
    "total_output_tokens": 163840, "request_throughput": 10.6, "output_throughput": 2721.0,
    "total_token_throughput": 13607.0, "mean_ttft_ms": 180.0, "median_ttft_ms": 150.0, "std_ttft_ms": 40.0,
    "p99_ttft_ms": 400.0, "mean_tpot_ms": 14.0, "median_tpot_ms": 13.8, "std_tpot_ms": 1.0, "p99_tpot_ms": 17.0,
    "mean_itl_ms": 14.0, "median_itl_ms": 13.5, "std_itl_ms": 3.0, "p99_itl_ms": 30.0, "mean_e2el_ms": 3750.0,
}


def test_vllm_json_reader(tmp_path):
    path = tmp_path / "vllm-result.json"
    path.write_text(json.dumps(VLLM_RESULT))
    (run,) = read_runs(path)
    assert (run.model, run.hardware, run.engine, run.tp) == ("llama-3.1-8b", "h100-sxm", "vllm", 1)
    assert (run.input_tokens, run.output_tokens, run.concurrency) == (1024, 256, 64)
    assert run.measured_tpot_s == pytest.approx(14.0 * MS) and run.measured_ttft_s == pytest.approx(0.18)
    result = validate([run])
    assert result["predicted"] == 1 and result["summary"]["tpot"]["n"] == 1


def test_vllm_jsonl_with_concurrency_from_littles_law(tmp_path):
    second = dict(VLLM_RESULT, max_concurrency=None, hardware=None)
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps(VLLM_RESULT) + "\n" + json.dumps(second) + "\n")
    runs = read_runs(path, hardware="h200-sxm")
    assert runs[1].hardware == "h200-sxm"
    assert runs[1].concurrency == pytest.approx(10.6 * 3.75)   # throughput x mean end-to-end latency


def test_vllm_json_without_hardware_is_skipped_with_the_reason(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(dict(VLLM_RESULT, hardware=None)))
    result = validate(read_runs(path))
    assert result["skipped"][0]["reason"].startswith("system '(not given)'")


def test_runs_csv(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("model,hardware,engine,tp,concurrency,input_tokens,output_tokens,ttft_ms,tpot_ms\n"
                    "llama-3.1-70b,h200_sxm,trtllm,4,32,1024,1024,180,10.5\n")
    (run,) = read_runs(path)
    assert (run.model, run.hardware, run.engine, run.tp, run.concurrency) == ("llama-3.1-70b", "h200-sxm", "trtllm", 4, 32)


@pytest.mark.parametrize("name, text, message", [
    ("runs.csv", "model,hardware,concurrency,input_tokens,output_tokens,ttft_ms,tpot_ms\n"
                 "llama-3.1-8b,h100-sxm,8,1024,128,abc,7\n", "runs.csv line 2, column ttft_ms: 'abc'"),
    ("runs.csv", "model,hardware,concurrency,input_tokens,output_tokens,ttft_ms\nx,y,1,1,1,1\n",
     "runs.csv: missing column 'tpot_ms'"),
    ("r.json", json.dumps({k: v for k, v in VLLM_RESULT.items() if k != "mean_tpot_ms"}),
     "r.json record 1, field mean_tpot_ms: missing"),
    ("r.json", json.dumps(dict(VLLM_RESULT, completed="many")), "r.json record 1, field completed: 'many'"),
    ("r.jsonl", "{not json\n", "r.jsonl line 1: not valid JSON"),
    ("calib.csv", "id,model_path,system,backend,mode,isl,osl,silicon_ttft_ms,silicon_tpot_ms\n"
                  "a,meta-llama/Llama-3.1-8B-Instruct,h100_sxm,trtllm,agg,1024,-5,10,2\n",
     "calib.csv line 2, column osl: -5"),
    ("x.txt", "hello\n", "x.txt: unknown format"),
])
def test_malformed_files_name_file_row_and_column(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        read_runs(path)
    assert message in str(exc.value) and "\n" not in str(exc.value)


AIC_HEADER = ("id,model_path,system,backend,mode,isl,osl,tp_size,pp_size,attention_dp_size,moe_tp_size,"
              "moe_ep_size,silicon_ttft_ms,silicon_tpot_ms\n")


def test_calibration_rows_whose_columns_repeat_the_named_tp_are_read_as_named(tmp_path):
    """Rows named tp8_ep8 (8 GPUs) whose columns say 64 GPUs (tp or attention dp 64, moe_tp 8, ep 8)
    are the 8-GPU runs: the surplus factor, exactly moe_tp, is divided out. A row whose columns agree
    with its name, and one without an explicit attention_dp_size, keep their columns."""
    path = tmp_path / "runs.csv"
    path.write_text(AIC_HEADER
                    + "r_c64_tp8_ep8_937,deepseek-ai/DeepSeek-R1,b200_sxm,trtllm,agg,1024,1024,1,1,64,8,8,1085,12.3\n"
                    + "r_c4_tp8_ep8_921,deepseek-ai/DeepSeek-R1,b200_sxm,sglang,agg,1024,1024,64,1,1,8,8,189,8.0\n"
                    + "r_c4_tp8_0_ep8_0_974,deepseek-ai/DeepSeek-R1,b200_sxm,trtllm,agg,1024,1024,1,1,8,1,8,1085,12.3\n"
                    + "r_c8_tp1_epnone_2,Qwen/Qwen3-235B-A22B-FP8,h200_sxm,vllm,agg,1000,100,1,1,,2,1,357,55\n")
    layouts = [(r.tp, r.dp_attn, r.moe_tp, r.ep) for r in read_runs(str(path))]
    assert layouts == [(1, 8, 1, 8), (8, 1, 1, 8), (1, 8, 1, 8), (1, 2, 2, 1)]


SOURCE_HEADER = ("id,silicon_data_source,model_path,system,backend,mode,isl,osl,tp_size,attention_dp_size,moe_tp_size,"
                 "moe_ep_size,prefill_tp_size,prefill_attention_dp_size,prefill_moe_tp_size,prefill_moe_ep_size,"
                 "decode_tp_size,decode_attention_dp_size,decode_moe_tp_size,decode_moe_ep_size,"
                 "silicon_ttft_ms,silicon_tpot_ms\n")
DASHBOARD = "source_file=2026-04-06.csv; silicon_concurrency=16"
COLLECTED = "source_file=/data/h200_sxm/trtllm/1.2/x.csv; silicon_concurrency=16"


def test_layout_correction_reads_the_columns_not_the_run_name(tmp_path):
    """Without a run name, the columns tell the repeated moe_tp: an aggregated row stating moe_tp x ep GPUs
    with moe_tp, ep > 1 is divided back to ep GPUs when it states more GPUs than one 8-GPU box, or comes
    from the dashboard's files. A measured tp 4 / moe_tp 2 / ep 2 from elsewhere, a 16-GPU TP16 EP16
    run (moe_tp 1) and a disaggregated row keep their columns."""
    r1, oss, h100 = "deepseek-ai/DeepSeek-R1", "openai/gpt-oss-120b", "h100_sxm"
    rows = [("a", COLLECTED, r1, "b200_sxm", "agg", "64,1,8,8", ",,,", ",,,"),
            ("b", COLLECTED, r1, "b200_sxm", "agg", "1,64,8,8", ",,,", ",,,"),
            ("c", COLLECTED, oss, "h200_sxm", "agg", "4,1,2,2", ",,,", ",,,"),
            ("d", DASHBOARD, oss, "h200_sxm", "agg", "4,1,2,2", ",,,", ",,,"),
            ("e", COLLECTED, r1, h100, "agg", "16,1,1,16", ",,,", ",,,"),
            ("f", DASHBOARD, r1, h100, "disagg", ",,,", "16,1,1,16", "16,1,1,16")]
    path = tmp_path / "runs.csv"
    path.write_text(SOURCE_HEADER + "".join(f"{i},{src},{m},{hw},trtllm,{mode},1024,1024,{agg},{pre},{dec},100,10\n"
                                            for i, src, m, hw, mode, agg, pre, dec in rows))
    runs = read_runs(str(path))
    assert [(r.tp, r.dp_attn, r.moe_tp, r.ep) for r in runs[:5]] == [
        (8, 1, 1, 8), (1, 8, 1, 8), (4, 1, 2, 2), (2, 1, 1, 2), (16, 1, 1, 16)]
    assert runs[5].pools["decode"]["tp_size"] == 16 and not any(r.skip_reason for r in runs)


def test_shipped_calibration_twins_read_as_one_layout():
    """Evidence for the correction: 129 aggregated rows of the shipped file are read with fewer GPUs than
    their columns state; 27 of them have a twin (equal model, chip, engine, lengths, concurrency, and TTFT
    and TPOT to every digit) stated as the corrected layout, and every twin group is read as one layout."""
    runs, df = read_aic_csv(str(CALIBRATION)), pd.read_csv(str(CALIBRATION))
    stated_gpus = df["tp_size"] * df["attention_dp_size"]    # NaN where the MoE layout implies the dp
    corrected = {r.id for r, gpus in zip(runs, stated_gpus) if r.mode == "agg" and r.tp * r.dp_attn < gpus}
    twins = defaultdict(list)
    for r in runs:
        if r.mode == "agg":
            twins[(r.model, r.hardware, r.engine, r.input_tokens, r.output_tokens, r.concurrency, r.measured_ttft_s,
                   r.measured_tpot_s)].append(r)
    assert len(corrected) == 129 and not any(r.skip_reason for r in runs)
    assert all(len({(r.tp, r.dp_attn, r.moe_tp, r.ep) for r in group}) == 1 for group in twins.values())
    assert sum(len(group) > 1 and any(r.id in corrected for r in group) for group in twins.values()) == 27


def test_layouts_no_engine_runs_are_skipped_with_the_reason(tmp_path):
    """tp 12 on a 128-head model, a prefill pool of tp 24, and a decode pool whose experts (moe_tp 2 x ep 8)
    span more GPUs than its attention (tp 8) are skipped, each with its reason; the next row is read."""
    r1 = "deepseek-ai/DeepSeek-R1"
    rows = [("a", "agg", "12,1,1,12", ",,,", ",,,"),
            ("b", "disagg", ",,,", "24,1,1,24", "8,1,1,8"),
            ("c", "disagg", ",,,", "8,1,1,8", "8,1,2,8"),
            ("d", "agg", "8,1,1,8", ",,,", ",,,")]
    path = tmp_path / "runs.csv"
    path.write_text(SOURCE_HEADER + "".join(f"{i},{COLLECTED},{r1},h200_sxm,trtllm,{mode},1024,1024,{agg},{pre},{dec},"
                                            "100,10\n" for i, mode, agg, pre, dec in rows))
    runs = read_runs(str(path))
    assert [r.skip_reason for r in runs] == [
        "tp=12 does not divide the 128 attention heads of deepseek-r1, so no engine runs it; tp is one of "
        "1, 2, 4, 8, 16, 32, 64, 128",
        "prefill pool: tp=24 does not divide the 128 attention heads of deepseek-r1, so no engine runs it; tp is "
        "one of 1, 2, 4, 8, 16, 32, 64, 128",
        "decode pool: moe_tp x moe_ep = 16 GPUs differs from tp x attention_dp = 8", ""]
    result = validate(runs)
    assert [s["id"] for s in result["skipped"]] == ["a", "b", "c"] and result["predicted"] == 1


def test_aiconfigurator_quant_modes_and_an_unknown_mode(tmp_path):
    """An int4_wo (w4a16) row is read as int4 weights and predicted; a row with an unknown mode is read,
    then skipped with a reason naming the column and the value; the file is not aborted."""
    path = tmp_path / "runs.csv"
    path.write_text("id,model_path,system,backend,mode,isl,osl,tp_size,batch_size,gemm_quant_mode,moe_quant_mode,"
                    "silicon_ttft_ms,silicon_tpot_ms\n"
                    "a,meta-llama/Llama-3.1-70B,h100_sxm,trtllm,agg,1024,1024,4,16,int4_wo,,200,10\n"
                    "b,meta-llama/Llama-3.1-70B,h100_sxm,trtllm,agg,1024,1024,4,16,int3_magic,,200,10\n")
    runs = read_runs(str(path))
    assert (runs[0].weight_dtype, runs[0].skip_reason) == ("int4", "")
    assert runs[1].skip_reason.startswith("gemm_quant_mode='int3_magic' is not a quant mode servecost reads")
    result = validate(runs)
    assert result["predicted"] == 1 and result["skipped"][0]["id"] == "b"


@pytest.mark.parametrize("mode, dtype", [
    ("bfloat16", "bf16"), ("float16", "bf16"), ("int8_wo", "int8"), ("int4_wo", "int4"), ("fp8", "fp8"),
    ("fp8_static", "fp8"), ("sq", "int8"), ("fp8_block", "fp8"), ("fp8_ootb", "fp8"), ("nvfp4", "nvfp4"),
    ("nvfp4_wo", "nvfp4"), ("w4afp8", "int4"), ("w4a16_mxfp4", "mxfp4"), ("w4a8_mxfp4_mxfp8", "mxfp4"),
    ("w4a8_mxfp4_mxfp8_trtllm", "mxfp4"), ("w4a16_mxfp4_cutlass", "mxfp4"), ("int8", "int8"), ("mxfp4", "mxfp4"),
    ("w4a16", "int4"), ("FP8_Block", "fp8"), ("auto", ""), ("", "")])
def test_every_aiconfigurator_quant_mode_maps_to_a_dtype(mode, dtype):
    """Every GEMM, MoE, FMHA and KV-cache mode of aiconfigurator's common.py, stored bytes alike."""
    assert _quant(mode) == dtype
    if dtype:
        assert canonical(dtype) == dtype


RUNS_CSV_HEAD = "model,hardware,concurrency,input_tokens,output_tokens,ttft_ms,tpot_ms"


def _read_runs_csv(tmp_path, extra_columns: str, *rows: str):
    """The runs of a small runs CSV: the required columns, then `extra_columns`, one row per line."""
    path = tmp_path / "runs.csv"
    path.write_text("\n".join([f"{RUNS_CSV_HEAD},{extra_columns}", *rows]) + "\n")
    return read_runs(str(path))


def test_runs_csv_with_an_unknown_kv_dtype_is_skipped_not_aborted(tmp_path):
    """The runs CSV follows the same rule: an unknown dtype skips that row with the reason."""
    runs = _read_runs_csv(tmp_path, "kv_dtype", "llama-3.1-8b,h100-sxm,8,1024,128,30,7,fp8",
                          "llama-3.1-8b,h100-sxm,8,1024,128,30,7,fp3")
    assert runs[0].kv_dtype == "fp8" and runs[1].skip_reason.startswith("kv_dtype='fp3' is not a quant mode")


def test_dashboard_rows_are_read_at_their_mean_lengths(tmp_path):
    """The dashboard's client draws lengths from [0.8, 1] x nominal: its rows are read at 0.9 x; rows
    from other sources keep the nominal lengths."""
    path = tmp_path / "runs.csv"
    path.write_text("id,silicon_data_source,model_path,system,backend,mode,isl,osl,tp_size,silicon_ttft_ms,silicon_tpot_ms\n"
                    "a,source_file=2026-04-06.csv; model=Llama-3.1-70B; silicon_concurrency=16,"
                    "meta-llama/Llama-3.1-70B-Instruct,h200_sxm,vllm,agg,1024,8192,4,100,10\n"
                    "b,source_file=/data/h100_sxm/trtllm/1.0.0rc3/x.csv; silicon_concurrency=16,"
                    "meta-llama/Llama-3.1-70B-Instruct,h200_sxm,vllm,agg,1024,8192,4,100,10\n")
    assert [(r.input_tokens, r.output_tokens) for r in read_runs(str(path))] == [(922, 7373), (1024, 8192)]


def test_runs_csv_without_ttft_and_with_a_tensor_parallel_moe(tmp_path):
    """An empty ttft_ms is a run whose TTFT was not measured: only its TPOT is compared. A MoE model's
    experts follow the layout given (TP 8, no EP: experts tensor-parallel over the 8 GPUs), so the run
    is predicted, not skipped."""
    path = tmp_path / "runs.csv"
    path.write_text("model,hardware,engine,concurrency,input_tokens,output_tokens,ttft_ms,tpot_ms,tp,ep\n"
                    "deepseek-r1,h200-sxm,sglang,64,1000,1000,,30,8,1\n"
                    "deepseek-r1,h200-sxm,sglang,64,1000,1000,500,30,8,8\n")
    runs = read_runs(str(path))
    assert [(r.moe_tp, r.ep) for r in runs] == [(8, 1), (1, 8)]
    result = validate(runs)
    assert result["predicted"] == 2 and result["summary"]["tpot"]["n"] == 2 and result["summary"]["ttft"]["n"] == 1


def test_runs_csv_disaggregated_without_workers_and_speculative_runs(tmp_path):
    """The runs CSV may give no worker counts (skipped with the reason) or speculative decoding without
    its settings: predicted as plan assumes MTP for a model with MTP heads and reported apart, skipped
    for a model without. Engine names as dashboards spell them map onto servecost's profiles."""
    path = tmp_path / "runs.csv"
    path.write_text("model,hardware,engine,concurrency,input_tokens,output_tokens,ttft_ms,tpot_ms,tp,"
                    "disaggregated,speculative\n"
                    "deepseek-r1,b200,dynamo-trt,64,1000,1000,500,20,8,yes,\n"
                    "deepseek-r1,b200,trt,64,1000,1000,500,20,8,no,mtp\n"
                    "deepseek-r1,b200,trt,64,1000,1000,500,20,8,no,\n"
                    "llama-3.1-70b,b200,trt,64,1000,1000,500,20,8,no,eagle3\n")
    runs = read_runs(str(path))
    assert [r.engine for r in runs] == ["trtllm"] * 4
    result = validate(runs)
    reasons = [s["reason"] for s in result["skipped"]]
    assert result["predicted"] == 2 and result["assumed"]["rows"] == 1 and "MTP" in result["assumed"]["assumption"]
    assert reasons[0].startswith("disaggregated run without its prefill and decode worker counts")
    assert reasons[1].startswith("speculative decoding (eagle3) on a model without MTP heads")
    plain, mtp = validate(runs[2:3])["results"][0], result["results"][0]
    assert mtp["speculative"] == "mtp" and mtp["predicted_tpot_s"] < 0.8 * plain["predicted_tpot_s"]


def test_runs_csv_disaggregated_runs_with_their_pools(tmp_path):
    """Worker counts and the prefill layout make a disaggregated run predictable (decode workers laid
    out as tp/dp_attn/ep); pool GPU counts that disagree with them are a specific skip."""
    path = tmp_path / "runs.csv"
    path.write_text("model,hardware,engine,concurrency,input_tokens,output_tokens,ttft_ms,tpot_ms,tp,dp_attn,ep,"
                    "disaggregated,prefill_workers,prefill_tp,prefill_dp_attn,prefill_ep,decode_workers,"
                    "prefill_gpus,decode_gpus\n"
                    "deepseek-r1,gb200-nvl72,dynamo-trt,1024,1000,1000,900,20,1,16,16,yes,2,4,1,4,2,8,32\n"
                    "deepseek-r1,gb200-nvl72,dynamo-trt,1024,1000,1000,900,20,1,16,16,yes,2,4,1,4,2,8,16\n")
    runs = read_runs(str(path))
    assert runs[0].pools["prefill"]["num_workers"] == 2 and runs[0].pools["decode"]["attention_dp_size"] == 16
    result = validate(runs)
    assert result["predicted"] == 1
    assert result["skipped"][0]["reason"] == "decode pool: 2 workers x 16 GPUs each differs from the 16 GPUs stated"


def test_calibration_format_without_moe_columns_and_with_a_speculative_column(tmp_path):
    """A user's calibration-format file may leave out the MoE layout (experts then follow the attention
    GPUs) and say which runs used speculative decoding (predicted as plan assumes, reported apart)."""
    path = tmp_path / "runs.csv"
    path.write_text("id,model_path,system,backend,mode,isl,osl,tp_size,batch_size,silicon_ttft_ms,silicon_tpot_ms,"
                    "speculative\n"
                    "a,deepseek-ai/DeepSeek-R1,b200_sxm,trtllm,agg,1024,1024,8,16,200,10,mtp\n"
                    "b,deepseek-ai/DeepSeek-R1,b200_sxm,trtllm,agg,1024,1024,8,16,200,10,\n")
    runs = read_runs(str(path))
    assert [(r.moe_tp, r.speculative) for r in runs] == [(8, "mtp"), (8, "")]
    result = validate(runs)
    assert result["predicted"] == 2 and result["assumed"]["rows"] == 1


def test_a_fractional_layout_is_skipped_with_its_reason_and_ep_zero_reads_as_one(tmp_path):
    """tp=2.5 describes no run: skipped with the reason; ep=0 (not given) reads as 1."""
    from servecost.calibration.validate import predict_runs
    runs = _read_runs_csv(tmp_path, "tp,ep", "llama-3.1-8b,h100-sxm,8,1000,500,50,8,2.5,1",
                          "llama-3.1-8b,h100-sxm,8,1000,500,50,8,2,0")
    assert "tp=2.5 is not a whole number" in runs[0].skip_reason
    assert not runs[1].skip_reason and runs[1].ep == 1
    preds = predict_runs(runs)
    assert isinstance(preds[0], str) and not isinstance(preds[1], str)
