"""Achieved fractions of peak and fixed overheads: the few factors calibration fits.

Defaults come from public measurements (cited per field). `servecost calibrate` refits them per
engine and hardware generation to measured serving runs (profiles.py); the package ships such a
fit (data/profiles.yaml), and --profile applies a user's own.
"""

from dataclasses import dataclass, fields, replace

from .errors import InputError


@dataclass(frozen=True, slots=True)
class Efficiency:
    # Matmul FLOP/s achieved / dense peak. H100 bf16 best-shape MAMF is 80% of peak
    # (stas00/ml-engineering mamf-finder); serving shapes are smaller, so below that.
    gemm_flops_frac: float = 0.70
    # Prefill attention kernels (FlashAttention/FlashInfer) reach ~50-75% of peak on H100 (FlashAttention-3 paper).
    attn_flops_frac: float = 0.55
    # Decode attention, one query per sequence over its cache (compute-bound for absorbed MLA): FlashMLA
    # reaches 660 TFLOP/s bf16 on H800 SXM5, 0.67 of its dense peak (deepseek-ai/FlashMLA README, 2025-02).
    decode_attn_flops_frac: float = 0.67
    # Grouped expert GEMMs over the dense GEMM rate: each expert's GEMM has few rows at decode and
    # uneven rows at prefill. Measured routed-expert kernels (NVIDIA aiconfigurator campaign
    # checkpoints, vLLM 0.20, tests/data/moe_kernel_timings.csv; fitted in benchmarks/kernels.py) reach
    # 0.43-0.46 of the dense rate (the shipped GEMM share 0.75-0.80 under it: about 0.34 of peak) with
    # FlashInfer's TensorRT-LLM FP4 MoE on a B200 and vLLM's fused_moe in bf16 on an H200 (0.09-0.20
    # for fused_moe on a B200 and for Marlin W4A16):
    # the better kernels' share, held (not fitted: fitted on the serving runs it went to 0.38 and
    # raised the held-out error).
    expert_gemm_frac: float = 0.44
    # Bytes/s streaming routed-expert weights over the dense weight stream's: a grouped GEMM reads each
    # woken expert's tiles for a few rows, where a dense GEMM streams one large matrix (estimate: 1 until
    # `servecost calibrate` fits it on MoE runs).
    expert_mem_bw_frac: float = 1.0
    # Bytes/s one (sequence, KV head) stream of decode attention reads: a kernel that does not split a
    # sequence's cache over thread blocks keeps few SMs busy at small batch (Flash-Decoding, Dao et al.
    # 2023). No cap (1e15) until `servecost calibrate` fits it or a profile states it.
    kv_stream_bytes_per_s: float = 1e15
    # Device time per (sequence, KV head) work item of a layer's decode attention, besides its bytes:
    # a thread block's setup, its page-table walk and its softmax merge. Measured decode-attention
    # kernels of vLLM 0.20 show 26 ns (H200, FlashAttention) and 12 ns (B200, FlashInfer) per item
    # (NVIDIA aiconfigurator campaign checkpoints, tests/data/decode_attention_timings.csv; fitted in
    # benchmarks/kernels.py). 0 until `servecost calibrate` fits it or a profile states it.
    decode_attn_item_s: float = 0.0
    # Fixed time of one MoE layer's dispatch + combine pair where attention is data-parallel and the
    # experts are spread over the ranks (DeepEP-style all-to-all kernels: each rank sends its tokens to
    # their experts' ranks and waits for every peer's signal, twice), besides its bytes. DeepEP's
    # low-latency kernels over NVLink take 37 us (dispatch, fp8) + 59 us (combine, bf16) at EP8 on H20
    # with 128 tokens per rank, top-8, hidden 7168 (deepseek-ai/DeepEP PR 173, 2025-05-22); the
    # all-to-all of roofline.comm_s gives those bytes and one link latency 81 us, so the pair's fixed
    # kernel time is ~15 us. 0 until `servecost calibrate` fits it; a tensor-parallel attention layout
    # all-reduces instead and pays no dispatch.
    ep_dispatch_s: float = 0.0
    # Memory bandwidth achieved / peak: aiconfigurator's mem_bw_empirical_scaling_factor is 0.8.
    mem_bw_frac: float = 0.80
    # Scale-up link bandwidth achieved / peak: H100 NVLink p2p measures 376-380 of 450 GB/s (NCCL #1264).
    link_bw_frac: float = 0.80
    # Overlap of math and memory traffic in one kernel: roofline p-norm, inf = max(), 1 = sum.
    overlap_p: float = 1.5
    # Kernel launch and small-kernel latency of a dense decoder layer per step (its 10 kernels x ~3 us,
    # aiconfigurator's mem_empirical_constant_latency is 3 us per op); a layer with more kernels (MLA,
    # routed experts) pays in proportion to its kernel count (roofline.kernels_per_layer).
    layer_overhead_s: float = 25e-6
    # Scheduler, sampling and host work per engine step.
    step_overhead_s: float = 0.5e-3
    # Host work per running sequence per step (scheduling, sampling, detokenisation), per DP rank.
    seq_overhead_s: float = 10e-6
    # Share of the host's time per step that runs beside the device (vLLM V1 async scheduling, SGLang's
    # overlap scheduler); 0: after it. Kept at 0 until fitted (calibrate.py).
    host_overlap_frac: float = 0.0
    # Fixed cost of a request before its prefill: HTTP, tokenisation, scheduling (serving.py).
    ttft_overhead_s: float = 0.03
    # Share of the other running requests' prefills a new prompt waits behind (serving.py).
    prefill_queue_frac: float = 0.1
    # Engine steps a new request waits, at the loaded step time, before its prompt is scheduled: the
    # scheduler admits new requests between steps, behind the running batch (serving.py).
    admission_steps: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


DEFAULT = Efficiency()
# Fixed costs a family may not pay at all (a dataflow machine has no host in its step).
MAY_BE_ZERO = frozenset({"decode_attn_item_s", "ep_dispatch_s", "layer_overhead_s", "step_overhead_s", "seq_overhead_s",
                         "host_overlap_frac", "admission_steps"})


# Achieved shares of a peak, or shares of a time: none can exceed 1.
SHARES = frozenset({"gemm_flops_frac", "attn_flops_frac", "decode_attn_flops_frac", "expert_gemm_frac",
                    "expert_mem_bw_frac", "mem_bw_frac", "link_bw_frac", "host_overlap_frac", "prefill_queue_frac"})


def ideal(eff: Efficiency) -> Efficiency:
    """`eff` with every achieved share of a peak at 1 and no fixed device or host cost (no per-layer,
    per-step or per-sequence time, no KV-stream cap; the links keep their latency, a physical time):
    the fastest the chip could run the work, a bound no measurement can beat under the same conditions."""
    return replace(eff, gemm_flops_frac=1.0, attn_flops_frac=1.0, decode_attn_flops_frac=1.0, expert_gemm_frac=1.0,
                   expert_mem_bw_frac=1.0, mem_bw_frac=1.0, link_bw_frac=1.0, kv_stream_bytes_per_s=1e15,
                   decode_attn_item_s=0.0, ep_dispatch_s=0.0, layer_overhead_s=0.0, step_overhead_s=0.0,
                   seq_overhead_s=0.0)


def from_dict(values: dict, source: str = "profile") -> Efficiency:
    """Efficiency from a mapping; unknown keys or non-positive values raise InputError."""
    if not isinstance(values, dict):
        raise InputError(f"{source}: expected a mapping of factor names to numbers")
    known = {f.name for f in fields(Efficiency)}
    for key, value in values.items():
        if key not in known:
            raise InputError(f"{source}: unknown efficiency factor {key!r}; known: {', '.join(sorted(known))}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value == value \
                or value < 0 or (value == 0 and key not in MAY_BE_ZERO) or value == float("inf"):
            limit = "a number >= 0" if key in MAY_BE_ZERO else "a positive number"
            raise InputError(f"{source}: {key}={value!r} must be {limit}")
        if key in SHARES and value > 1:
            raise InputError(f"{source}: {key}={value!r} is a share of a peak or of a time and must be <= 1 "
                             f"(e.g. {getattr(DEFAULT, key)})")
    return replace(DEFAULT, **{k: float(v) for k, v in values.items()})
