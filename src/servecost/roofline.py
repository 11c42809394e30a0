"""FLOPs, bytes and time of one engine step: decode, prefill, or both mixed (chunked prefill).

Per chip of one pipeline stage, every operator class is a roofline:
    t_op = max(FLOPs / (C_peak * eff_flops), bytes / (W_mem * eff_bw))
    (decode attention: W_mem * eff_bw capped at n_streams * r_stream, the (sequence, KV head) streams
     a kernel that does not split the cache runs at once; Flash-Decoding, Dao et al. 2023; plus
     t_item per (sequence, KV head, layer) work item)
    t_stage  = sum_op t_op + t_comm + (L / pp) * t_layer * k(model) / k_dense
    t_device = pp * (t_stage(B / pp) + t_handoff)
    t_host   = t_step_overhead + t_seq_overhead * B / dp_attn
    t_step   = t_device + t_host - f_overlap * min(t_device, t_host)
(How to Scale Your Model, "Transformer inference"; LLM-Viewer, Yuan et al. 2024.)
With pp stages a batch of B runs as pp micro-batches of B/pp, so each token still passes all stages.
t_layer is the fixed cost of a dense decoder layer's k_dense = 10 kernels (operators); a model whose
layers run more (MLA's projections, a router and grouped experts) pays for its k(model)
(kernels_per_layer).
t_layer and the host terms are what each hardware family pays besides its operators (families.py):
kernel launches on GPUs, a compiled graph's small ops on TPU / Trainium, a layer's pipeline latency
on dataflow machines. The host's scheduling, sampling and detokenising run beside the device for the
share f_overlap (an engine's async scheduling), else after it. W_mem is the bandwidth of the memory
tiers the chip's resident bytes live in (hardware.py: one tier on most chips, HBM then DDR on SN40L).
All functions take scalars or broadcasting numpy arrays (batch, context, parallelism).
"""

from dataclasses import dataclass

import numpy as np

from . import params as P
from .comms import allreduce_s, alltoall_s, bisection_share, p2p_s
from .dtypes import bytes_per_element, canonical
from .efficiency import DEFAULT, Efficiency
from .hardware import TORUS_DIMS, Accelerator
from .memory import kv_bytes_per_chip, kv_bytes_per_seq, kv_shards, weight_bytes_per_chip
from .models import ModelSpec
from .parallel import Parallel
from .units import Array

FLOPS_PER_MAC = 2
HIDDEN_RW_PER_LAYER = 10   # d-vectors read+written per token per layer (norms, residual, qkv/o, ffn in/out)
FFN_RW = 3                 # FFN intermediate: gate and up written, read by the down projection
MLA_QUERY_TILE_ROWS = 64   # query rows per MMA tile of an MLA decode kernel (FlashMLA, deepseek-ai 2025)


@dataclass(frozen=True)
class Precision:
    weight: str = "bf16"     # non-expert weights
    expert: str = "bf16"     # routed-expert weights
    kv: str = "bf16"
    act: str = "bf16"        # activations on the wire and in attention

    @classmethod
    def native(cls, m: ModelSpec, kv: str = "bf16") -> "Precision":
        return cls(weight=m.weight_dtype, expert=m.expert_dtype, kv=kv)

    @classmethod
    def resolve(cls, m: ModelSpec, weight: str = "", expert: str = "", kv: str = "bf16") -> "Precision":
        """Precision from optional overrides: unset weights are native; unset experts follow the
        weight override when one is given, else stay native."""
        w = canonical(weight, "weight_dtype") if weight else m.weight_dtype
        e = canonical(expert, "expert_dtype") if expert else (w if weight else m.expert_dtype)
        return cls(weight=w, expert=e, kv=canonical(kv, "kv_dtype"))


@dataclass(frozen=True)
class Work:
    """FLOPs and bytes per chip for one stage, by operator class (arrays). Decode attention (one query
    per sequence over its cache) and prefill attention (a prompt over itself) are separate kernels."""
    dense_flops: Array
    dense_bytes: Array
    expert_flops: Array
    expert_bytes: Array
    attn_flops: Array                  # decode attention
    attn_bytes: Array                  # its KV (and recurrent state) read
    prefill_attn_flops: Array = 0.0
    prefill_attn_bytes: Array = 0.0    # the prompts' KV written
    kv_streams: Array = np.inf         # (sequence, KV head) pairs decode attention reads, per chip
    attn_items: Array = 0.0            # (sequence, KV head, layer) work items of decode attention, per chip


def experts_touched(m: ModelSpec, tokens):
    """Expected distinct experts a batch of `tokens` routes to in one layer.

    Each token picks k of E experts; with uniform routing an expert is missed by all tokens with
    probability (1 - k/E)^tokens, so E_touched = E * (1 - (1 - k/E)^tokens): k at one token, E at many.
    """
    if not m.is_moe:
        return np.zeros_like(np.asarray(tokens, dtype=float))
    return distinct_experts(m.experts_per_token, m.n_experts, tokens)


def distinct_experts(k: int, n_experts: int, tokens):
    """E (1 - (1 - k/E)^T): the distinct experts T tokens routed k of E each wake (experts_touched)."""
    return n_experts * (1 - (1 - k / n_experts) ** np.asarray(tokens, dtype=float))


def _attention_pairs(m: ModelSpec, seq_tokens):
    """Query-key pairs of causal attention over a prompt of S tokens, summed over softmax layers."""
    S = np.asarray(seq_tokens, dtype=float)
    full = S * (S + 1) / 2
    if m.sparse_topk_tokens:
        full = np.minimum(full, m.sparse_topk_tokens * S)
    w = m.window_tokens
    window = np.where(S > w, w * S - w * (w - 1) / 2, full) if m.n_window_layers else 0.0
    return m.n_full_layers * full + m.n_window_layers * window


def _attended_tokens(m: ModelSpec, context_tokens):
    """Keys one decode query reads, summed over softmax layers."""
    ctx = np.asarray(context_tokens, dtype=float)
    full = np.minimum(ctx, m.sparse_topk_tokens) if m.sparse_topk_tokens else ctx
    window = np.minimum(ctx, m.window_tokens) if m.n_window_layers else 0.0
    return m.n_full_layers * full + m.n_window_layers * window


def _attn_flops_per_query_key(m: ModelSpec, decode: bool) -> float:
    """FLOPs per (query, key) pair over all heads: QK^T then PV."""
    if m.attention == "mla" and decode:   # absorbed MLA: scores and values over the shared latent
        return FLOPS_PER_MAC * m.n_heads * (2 * m.kv_lora_rank + m.qk_rope_head_dim)
    if m.attention == "mla":
        return FLOPS_PER_MAC * m.n_heads * (m.qk_nope_head_dim + m.qk_rope_head_dim + m.v_head_dim)
    return FLOPS_PER_MAC * m.n_heads * 2 * m.head_dim  # 2: QK^T and PV


def step_work(m: ModelSpec, par: Parallel, prec: Precision, decode_seqs=0.0, context_tokens=0.0,
              prefill_seqs=0.0, prefill_tokens=0.0, spread_over_dp: bool = True, tokens_per_seq=1.0) -> Work:
    """Work per chip of one stage for a step that decodes `decode_seqs` sequences at
    `context_tokens` and prefills `prefill_seqs` prompts of `prefill_tokens` each.
    Weights are read once per step, however many tokens share them. The sequences spread over the
    attention-DP ranks; a lone prompt (`spread_over_dp=False`) keeps its attention on one rank.
    `tokens_per_seq` > 1: each decoding sequence verifies that many tokens at once (speculative
    decoding): more math and activations, the same KV read."""
    q_tokens = np.asarray(decode_seqs, dtype=float) * tokens_per_seq
    w, e, a = (bytes_per_element(prec.weight), bytes_per_element(prec.expert), bytes_per_element(prec.act))
    cps, tp, pp = par.chips_per_stage, par.tp, par.pp
    dp = par.dp_attn if spread_over_dp else 1
    tokens = q_tokens + np.asarray(prefill_seqs, dtype=float) * prefill_tokens
    layer_frac = 1 / np.asarray(pp, dtype=float)          # share of the layers on one stage

    other_w = P.dense_ffn_params(m) + P.shared_expert_params(m) + P.router_params(m)
    attn_rank_w = P.attention_params_per_rank(m, tp)          # MLA's down-projections whole on every rank
    dense_flops = FLOPS_PER_MAC * layer_frac * (tokens * attn_rank_w / dp + tokens * other_w / cps)
    lm_tokens = q_tokens + np.asarray(prefill_seqs, dtype=float)
    dense_flops = dense_flops + FLOPS_PER_MAC * layer_frac * lm_tokens * P.lm_head_params(m) / cps
    ffn_width = m.dense_ffn_dim * m.n_dense_layers + (m.experts_per_token * m.moe_ffn_dim
                                                      + m.n_shared_experts * m.shared_ffn_dim) * m.n_moe_layers
    act_bytes = tokens / cps * layer_frac * a * (HIDDEN_RW_PER_LAYER * m.d_model * m.n_layers + FFN_RW * ffn_width)
    weight_bytes = layer_frac * (attn_rank_w * w + (other_w + P.lm_head_params(m)) * w / cps)
    dense_bytes = np.where(tokens > 0, weight_bytes, 0.0) + act_bytes

    touched = experts_touched(m, tokens)
    expert_each = P.expert_params_each(m)
    expert_flops = FLOPS_PER_MAC * layer_frac * tokens * m.experts_per_token * m.n_moe_layers * expert_each / cps
    expert_bytes = layer_frac * m.n_moe_layers * touched * expert_each * e / cps

    kv_b = bytes_per_element(prec.kv)
    kv_elems = P.kv_elements_per_token_layer(m)
    decode_keys = _attended_tokens(m, context_tokens)
    heads_share = 1 / (np.asarray(tp, dtype=float) * dp)   # heads split tp ways, sequences dp ways
    attn_flops = layer_frac * heads_share * q_tokens * decode_keys * _attn_flops_per_query_key(m, decode=True) \
        * mla_tile_padding(m, tp, tokens_per_seq)
    prefill_attn_flops = layer_frac * heads_share * np.asarray(prefill_seqs) * _attention_pairs(m, prefill_tokens) \
        * _attn_flops_per_query_key(m, decode=False)
    kv_read = np.asarray(decode_seqs) * decode_keys * kv_elems * kv_b
    if m.attention == "mla" and m.sparse_topk_tokens:   # the indexer scans every cached key
        kv_read = kv_read + np.asarray(decode_seqs) * m.n_full_layers * np.asarray(context_tokens) * m.index_head_dim * kv_b
    state_rw = 2 * m.n_linear_layers * P.linear_state_elements_per_layer(m) * kv_b * (
        np.asarray(decode_seqs) + np.asarray(prefill_seqs))  # read and write the recurrent state
    kv_write = np.asarray(prefill_seqs) * kv_bytes_per_seq(m, prefill_tokens, prec.kv)
    shards = kv_shards(m, par) * dp
    return Work(dense_flops, dense_bytes, expert_flops, expert_bytes, attn_flops,
                layer_frac * (kv_read + state_rw) / shards, prefill_attn_flops, layer_frac * kv_write / shards,
                kv_streams(m, par, decode_seqs, dp), layer_frac * attention_items(m, par, decode_seqs, dp))


def _kv_pairs(m: ModelSpec, par: Parallel, decode_seqs, dp=1.0):
    """(sequence, KV head) pairs of one chip's decode attention per layer; MLA's latent is one KV head
    shared by all query heads."""
    heads_per_chip = (1 if m.attention == "mla" else m.n_kv_heads) / kv_shards(m, par)
    return np.asarray(decode_seqs, dtype=float) / dp * heads_per_chip


def attention_items(m: ModelSpec, par: Parallel, decode_seqs, dp=1.0):
    """(sequence, KV head, layer) work items of one chip's decode attention over all softmax layers:
    a kernel runs a thread block (or a split of one) per (sequence, KV head)."""
    return _kv_pairs(m, par, decode_seqs, dp) * m.n_softmax_layers


def mla_tile_padding(m: ModelSpec, tp, tokens_per_seq=1.0):
    """Tensor-core rows an absorbed-MLA decode kernel computes over the query rows it has: one
    sequence's h / tp heads x s_q tokens share the latent KV and run as one M dimension, padded to
    tiles of MLA_QUERY_TILE_ROWS (FlashMLA: 64 x 576 K blocks against a 64-row output split 2 x 256;
    Hopper's wgmma and Blackwell's tcgen05 MMAs have M >= 64):
        padding = ceil(r / 64) * 64 / r,   r = h s_q / tp
    1 for other attention (memory-bound at decode, tile padding hidden under the KV read)."""
    if m.attention != "mla":
        return 1.0
    rows = m.n_heads / np.asarray(tp, dtype=float) * tokens_per_seq
    return np.ceil(rows / MLA_QUERY_TILE_ROWS) * MLA_QUERY_TILE_ROWS / rows


def kv_streams(m: ModelSpec, par: Parallel, decode_seqs, dp=1.0):
    """(sequence, KV head) pairs one chip's decode attention reads: the thread blocks a kernel that does
    not split a sequence's cache can run. MLA kernels split it (FlashMLA's tile scheduler), so no cap."""
    if m.attention == "mla" or not m.n_softmax_layers:
        return np.full_like(np.asarray(decode_seqs, dtype=float), np.inf)
    return _kv_pairs(m, par, decode_seqs, dp)


def roofline_s(t_math_s, t_mem_s, overlap_p: float):
    """Time of a kernel whose math and memory traffic overlap partly: the p-norm of the two,
    max(t_math, t_mem) as p -> inf (perfect overlap), their sum at p = 1 (none). Near the ridge
    point neither pipe runs at its peak, which the plain max() hides."""
    hi = np.maximum(t_math_s, t_mem_s)
    lo = np.minimum(t_math_s, t_mem_s)
    ratio = np.divide(lo, hi, out=np.zeros_like(hi, dtype=float), where=hi > 0)
    return hi * (1 + ratio**overlap_p) ** (1 / overlap_p)


def matmul_s(flops, bytes_, hw: Accelerator, weight_dtype: str, eff: Efficiency = DEFAULT, stream_bytes_per_s=None,
             gemm_share: float = 1.0, stream_share: float = 1.0):
    """Weight matmuls at the achieved shares of the peaks, math and traffic overlapped (roofline_s):
    t = ||(F / (C_peak k_chip f_gemm s_g), B / (W f_mem s_w))||_p, F their FLOPs, B their weight and
    activation bytes; k_chip the chip's measured matmul ceiling over the reference chip's
    (Accelerator.matmul_scale); s_g, s_w the routed experts' own shares (1 for dense weights)."""
    bw = hw.mem_bytes_per_s if stream_bytes_per_s is None else stream_bytes_per_s
    return roofline_s(flops / (hw.matmul_flops_per_s(weight_dtype) * eff.gemm_flops_frac * gemm_share),
                      bytes_ / (bw * eff.mem_bw_frac * stream_share), eff.overlap_p)


def decode_attention_s(flops, kv_bytes, streams, hw: Accelerator, act_dtype: str, eff: Efficiency = DEFAULT,
                       stream_bytes_per_s=None, items=0.0):
    """Decode attention reading `kv_bytes` of cache in `streams` (sequence, KV head) pairs:
    t = ||(F / (C_peak f_attn), B / min(W f_mem, n_streams r_stream))||_p + n_items t_item, r_stream the
    rate one pair streams at when a kernel does not split its cache (Flash-Decoding), t_item a work
    item's own time (its block's setup and softmax merge) over the `items` (sequence, KV head, layer)."""
    bw = (hw.mem_bytes_per_s if stream_bytes_per_s is None else stream_bytes_per_s) * eff.mem_bw_frac
    streams = np.asarray(streams)
    with np.errstate(invalid="ignore"):   # no streams (no decode) x an unbounded rate
        kv_bw = np.where(streams > 0, np.minimum(bw, streams * eff.kv_stream_bytes_per_s), bw)
    return roofline_s(flops / (hw.flops_per_s(act_dtype) * eff.decode_attn_flops_frac), kv_bytes / kv_bw,
                      eff.overlap_p) + np.asarray(items) * eff.decode_attn_item_s


def compute_s(work: Work, hw: Accelerator, prec: Precision, eff: Efficiency = DEFAULT, stream_bytes_per_s=None):
    """Roofline time of the operators of one stage (no communication, no overheads).
    `stream_bytes_per_s`: the bandwidth of the tiers the resident bytes live in (default: the fastest)."""
    bw = (hw.mem_bytes_per_s if stream_bytes_per_s is None else stream_bytes_per_s) * eff.mem_bw_frac
    p = eff.overlap_p
    t_dense = matmul_s(work.dense_flops, work.dense_bytes, hw, prec.weight, eff, stream_bytes_per_s)
    t_expert = matmul_s(work.expert_flops, work.expert_bytes, hw, prec.expert, eff, stream_bytes_per_s,
                        eff.expert_gemm_frac, eff.expert_mem_bw_frac)
    t_decode_attn = decode_attention_s(work.attn_flops, work.attn_bytes, work.kv_streams, hw, prec.act, eff,
                                       stream_bytes_per_s, work.attn_items)
    t_prefill_attn = roofline_s(work.prefill_attn_flops / (hw.flops_per_s(prec.act) * eff.attn_flops_frac),
                                work.prefill_attn_bytes / bw, p)
    return t_dense + t_expert + t_decode_attn + t_prefill_attn


def _link(hw: Accelerator, chips, eff: Efficiency):
    """Bandwidth and latency of the link that joins `chips` chips: scale-up inside a domain, else scale-out."""
    inside = np.asarray(chips) <= hw.scaleup_domain_chips
    bw = np.where(inside, hw.scaleup_bytes_per_s, hw.scaleout_bytes_per_s) * eff.link_bw_frac
    lat = np.where(inside, hw.scaleup_latency_s, 4 * hw.scaleup_latency_s)  # scale-out: NIC + switch hops
    return bw, lat


def _alltoall_share(hw: Accelerator, chips):
    """Share of a chip's link bandwidth an all-to-all over `chips` gets: 1 on a switch, the
    bisection's share on a torus slice inside the domain (comms.bisection_share)."""
    dims = TORUS_DIMS.get(hw.topology)
    if dims is None:
        return 1.0
    inside = np.asarray(chips) <= hw.scaleup_domain_chips
    return np.where(inside, bisection_share(chips, dims), 1.0)


def comm_s(m: ModelSpec, hw: Accelerator, par: Parallel, prec: Precision, tokens, eff: Efficiency = DEFAULT):
    """Collectives of one stage for `tokens` tokens (all attention-DP ranks together).

    Attention: all-reduce of each rank's tokens over its tp group. FFN: a dense or MoE-TP layer over
    all chips of the stage all-gathers every token and reduce-scatters the result (= an all-reduce
    of all the stage's tokens); expert parallelism instead sends each token to its k experts and
    back (all-to-all dispatch + combine).
    """
    a = bytes_per_element(prec.act)
    cps, tp, dp = par.chips_per_stage, par.tp, par.dp_attn
    bw, lat = _link(hw, cps, eff)
    layers = m.n_layers / np.asarray(par.pp, dtype=float)
    moe_layers = m.n_moe_layers / np.asarray(par.pp, dtype=float)
    hidden = np.asarray(tokens, dtype=float) * m.d_model * a
    t_attn = layers * allreduce_s(hidden / dp, tp, bw, lat)
    t_ffn_allreduce = allreduce_s(hidden, cps, bw, lat)
    dispatch_bytes = 2 * hidden / cps * m.experts_per_token   # 2: dispatch and combine
    # A dispatch + combine pair costs about one small collective's latency (`lat`: the scale-up
    # figure inside a domain, 4x it across). DeepEP's RDMA kernels quote 77 + 114 us per pair at EP8
    # (deepseek-ai/DeepEP README), but engines overlap them with compute: with that latency the
    # measured cross-node DeepSeek-R1 runs come out 70% slower than measured, with `lat` within 10%.
    t_a2a = alltoall_s(dispatch_bytes, par.ep, bw * _alltoall_share(hw, par.ep), lat) \
        + np.where(np.asarray(dp) > 1, eff.ep_dispatch_s, 0.0)   # the pair's fixed kernel time (efficiency.py)
    t_moe = moe_layers * np.where(np.asarray(par.ep) > 1, t_a2a, t_ffn_allreduce)
    return t_attn + (layers - moe_layers) * t_ffn_allreduce + t_moe


def handoff_s(m: ModelSpec, hw: Accelerator, par: Parallel, prec: Precision, tokens, eff: Efficiency = DEFAULT):
    """Pipeline hand-off of one micro-batch's hidden states to the next stage (0 when pp == 1)."""
    bw, lat = _link(hw, par.chips, eff)
    message = np.asarray(tokens, dtype=float) * m.d_model * bytes_per_element(prec.act) / par.chips_per_stage
    return np.where(np.asarray(par.pp) > 1, p2p_s(message, bw, lat), 0.0)


@dataclass(frozen=True)
class Step:
    """One engine step of a replica: its time and how busy it kept each chip."""
    step_s: Array
    flops_util_frac: object   # achieved FLOP/s over dense peak, per chip
    mem_util_frac: object     # achieved memory bytes/s over peak, per chip
    device_s: Array = 0.0     # the accelerators' part: kernels, collectives, hand-offs (a CUDA-graph replay)
    host_s: Array = 0.0       # the host's scheduling, sampling and detokenising, before overlap


def step(m: ModelSpec, hw: Accelerator, par: Parallel, prec: Precision, decode_seqs=0.0, context_tokens=0.0,
         prefill_seqs=0.0, prefill_tokens=0.0, eff: Efficiency = DEFAULT, pipelined: bool = True,
         spread_over_dp: bool = True, tokens_per_seq=1.0) -> Step:
    """One engine step (see module docstring). `pipelined`: the batch runs as pp micro-batches
    (decode); otherwise one batch passes the stages in turn (a single prefill)."""
    pp = np.asarray(par.pp, dtype=float)
    split = pp if pipelined else 1.0
    d_mb, p_mb = np.asarray(decode_seqs) / split, np.asarray(prefill_seqs) / split
    work = step_work(m, par, prec, d_mb, context_tokens, p_mb, prefill_tokens, spread_over_dp, tokens_per_seq)
    tokens = d_mb * tokens_per_seq + p_mb * prefill_tokens
    stream_bw = _stream_bytes_per_s(m, hw, par, prec, decode_seqs, context_tokens)
    t_compute = compute_s(work, hw, prec, eff, stream_bw)
    t_stage = t_compute + comm_s(m, hw, par, prec, tokens, eff) + layer_cost_s(m, eff) / pp
    passes = pp if pipelined else 1.0   # micro-batches each stage runs per step
    t_device = pp * (t_stage + handoff_s(m, hw, par, prec, tokens, eff))
    t_host = host_s(par, decode_seqs, prefill_seqs, eff)
    t_step = with_host_s(t_device, t_host, eff)
    flops = passes * (work.dense_flops + work.expert_flops + work.attn_flops + work.prefill_attn_flops)
    mem = passes * (work.dense_bytes + work.expert_bytes + work.attn_bytes + work.prefill_attn_bytes)
    return Step(t_step, flops / (t_step * hw.flops_per_s(prec.weight)), mem / (t_step * stream_bw), t_device, t_host)


# Kernels of a dense GQA decoder layer as vLLM runs it (vllm/model_executor/models/llama.py): two
# fused add-RMSNorms, QKV, rotary, KV-cache write, attention, O, gate-up, SiLU-and-mul, down.
DENSE_LAYER_KERNELS = 10
ATTENTION_KERNELS = {"gqa": 5,   # QKV, rotary, cache write, attention, O
                     # fused q_a/kv_a projection, q_a and kv_a norms, q_b, absorbed W_kc bmm, rotary,
                     # cache write, attention, W_vc bmm, O (sglang deepseek_v2.py, absorbed path)
                     "mla": 10}
LINEAR_ATTENTION_KERNELS = 6     # in-projection, short conv, gates, recurrent scan, gated norm, out-projection
FFN_KERNELS = 3                  # gate-up, SiLU-and-mul, down
# router GEMM, top-k softmax, token sort (moe_align_block_size), grouped gate-up, SiLU-and-mul,
# grouped down, weighted combine (vllm fused_moe)
MOE_KERNELS = 7
NORM_KERNELS = 2


def kernels_per_layer(m: ModelSpec) -> float:
    """Kernels one decoder layer launches, averaged over the model's layers: its attention's (softmax
    or linear), its FFN's (dense, or routed experts plus a shared expert's dense FFN) and two norms."""
    attention = (m.n_softmax_layers * ATTENTION_KERNELS[m.attention] + m.n_linear_layers * LINEAR_ATTENTION_KERNELS)
    ffn = m.n_dense_layers * FFN_KERNELS + m.n_moe_layers * (MOE_KERNELS + FFN_KERNELS * (m.n_shared_experts > 0))
    return (attention + ffn) / m.n_layers + NORM_KERNELS


def kernel_cost_s(eff: Efficiency = DEFAULT) -> float:
    """Fixed device cost of one kernel of a layer: t_layer / k_dense (its fill and drain, its launch)."""
    return eff.layer_overhead_s / DENSE_LAYER_KERNELS


def layer_cost_s(m: ModelSpec, eff: Efficiency = DEFAULT):
    """Fixed device cost of all layers of one pass: t_layer (the cost of a dense decoder layer's
    DENSE_LAYER_KERNELS kernels or operators) scaled by the kernels each of the model's layers runs:
        L t_layer k(m) / k_dense
    (on a dataflow fabric the operators of a layer's pipeline, whose fill and drain t_layer is)."""
    return m.n_layers * eff.layer_overhead_s * kernels_per_layer(m) / DENSE_LAYER_KERNELS


def _stream_bytes_per_s(m, hw, par, prec, decode_seqs, context_tokens):
    """Bandwidth of the tiers the chip's weights and KV live in (the fastest alone on one-tier chips)."""
    if len(hw.tiers) == 1:
        return hw.mem_bytes_per_s
    resident = weight_bytes_per_chip(m, par, prec.weight, prec.expert) + kv_bytes_per_chip(
        m, par, np.asarray(decode_seqs, dtype=float), context_tokens, prec.kv)
    return hw.streaming_bytes_per_s(resident)


def host_s(par: Parallel, decode_seqs, prefill_seqs, eff: Efficiency = DEFAULT):
    """Host time of one step: scheduling, sampling and detokenising, fixed plus per running sequence
    of a DP rank (each rank's scheduler runs in parallel)."""
    seqs_per_rank = (np.asarray(decode_seqs) + np.asarray(prefill_seqs)) / np.asarray(par.dp_attn, dtype=float)
    return eff.step_overhead_s + eff.seq_overhead_s * seqs_per_rank


def with_host_s(device_s, host_s_, eff: Efficiency = DEFAULT):
    """Step time when the host's share f_overlap runs beside the device: T_d + T_h - f * min(T_d, T_h)."""
    return device_s + host_s_ - eff.host_overlap_frac * np.minimum(device_s, host_s_)


def decode_step_s(m, hw, par, prec, batch, context_tokens, eff: Efficiency = DEFAULT):
    """Seconds per decode step of `batch` sequences at `context_tokens` each (= TPOT, no prefills)."""
    return step(m, hw, par, prec, decode_seqs=batch, context_tokens=context_tokens, eff=eff).step_s


def prefill_s(m, hw, par, prec, batch, seq_tokens, eff: Efficiency = DEFAULT, spread_over_dp: bool = True):
    """Seconds to prefill `batch` prompts of `seq_tokens` each, causal attention, all layers.
    One batch runs through the stages in turn, so pipeline stages add up."""
    return step(m, hw, par, prec, prefill_seqs=batch, prefill_tokens=seq_tokens, eff=eff, pipelined=False,
                spread_over_dp=spread_over_dp).step_s


def critical_batch(hw: Accelerator, weight_dtype: str = "bf16") -> float:
    """Tokens per step at which a decode step's weight matmuls turn from memory- to compute-bound:

        2 B P / C = P b_w / W   ->   B* = C b_w / (2 W)      (How to Scale Your Model, "Transformer
                                                             inference": B* ~ 240 for bf16 on a TPU v5e)
    C the dense peak for the weights' format, W the bandwidth of the memory that holds them, b_w the
    bytes per weight."""
    return hw.flops_per_s(weight_dtype) * bytes_per_element(weight_dtype) / (FLOPS_PER_MAC * hw.mem_bytes_per_s)


def textbook_decode_step_s(m: ModelSpec, hw: Accelerator, batch, context_tokens, prec: Precision = Precision(),
                           chips: int = 1):
    """The textbook decode step on `chips` chips sharing the work, peak rates, perfect overlap:

        T = max(2 B P_active / (n C), (P_bytes + B KV(L)) / (n W))     (How to Scale Your Model)
    P_bytes all weights read once (routed experts: all of them, the many-token limit), KV(L) one
    sequence's cache at L tokens; the embedding table in neither. `step()` with ideal factors reduces to this for a dense model."""
    B = np.asarray(batch, dtype=float)
    lookup = P.embedding_params(m)      # the embedding table is a lookup: neither read whole nor multiplied
    t_math_s = FLOPS_PER_MAC * B * (P.active_params(m) - lookup) / (chips * hw.flops_per_s(prec.weight))
    weights = P.total_params(m) - lookup
    t_mem_s = (weights * bytes_per_element(prec.weight) + B * kv_bytes_per_seq(m, context_tokens, prec.kv)) / (
        chips * hw.mem_bytes_per_s)
    return np.maximum(t_math_s, t_mem_s)
