"""Numeric formats: storage bytes per element and the tensor-core format that computes them."""

from .errors import InputError, suggest

# Storage bytes per element, block scales included:
#   mxfp4: 4-bit E2M1 + one 8-bit E8M0 scale per 32 elements = 4.25 bits (OCP MX spec v1.0)
#   nvfp4: 4-bit E2M1 + one 8-bit E4M3 scale per 16 elements = 4.5 bits (NVIDIA Blackwell docs)
#   int4:  4-bit integers + one 16-bit scale per group of 32 (GPTQ/AWQ/compressed-tensors) = 4.5 bits
#   fp8:   1 byte; 128x128 block scales in fp32 add 4/16384 bytes, negligible
BYTES_PER_ELEMENT: dict[str, float] = {
    "fp32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "mxfp4": 4.25 / 8,
    "nvfp4": 4.5 / 8,
    "fp4": 4.5 / 8,
    "int4": 4.5 / 8,
}

# The tensor-core formats that can compute a weight format, best first. A chip without the first
# falls back to the next. 4-bit weights on a chip without 4-bit math run as W4A16: dequantised to
# bf16 in the kernel (vLLM's Marlin / Triton MXFP4 kernels on Hopper and MI300, the path gpt-oss
# takes there), so at the bf16 rate, not fp8's.
COMPUTE_FORMATS: dict[str, tuple[str, ...]] = {
    "fp32": ("bf16",),
    "bf16": ("bf16",),
    "fp16": ("bf16",),
    "fp8": ("fp8", "bf16"),
    "int8": ("int8", "fp8", "bf16"),
    "mxfp4": ("fp4", "bf16"),
    "nvfp4": ("fp4", "bf16"),
    "fp4": ("fp4", "bf16"),
    "int4": ("int8", "bf16"),  # W4A16 / W4A8 kernels: no int4 tensor-core path on current parts
}

ALIASES = {"float16": "fp16", "bfloat16": "bf16", "float32": "fp32", "e4m3": "fp8",
           "fp8_e4m3": "fp8", "fp8_block": "fp8", "w4a16": "int4", "w4": "int4", "mx4": "mxfp4"}


def canonical(dtype: str, field: str = "dtype") -> str:
    """Return the canonical name of a dtype; raise InputError naming `field` if unknown."""
    name = ALIASES.get(dtype.strip().lower(), dtype.strip().lower())
    if name not in BYTES_PER_ELEMENT:
        raise InputError(f"{field}={dtype!r} is not a known dtype; "
                         f"use one of {', '.join(BYTES_PER_ELEMENT)}{suggest(dtype, BYTES_PER_ELEMENT)}")
    return name


def bytes_per_element(dtype: str) -> float:
    """Storage bytes per element of `dtype`, scales included."""
    return BYTES_PER_ELEMENT[canonical(dtype)]
