#!/usr/bin/env python3
"""Writes the file-format fixtures under data/fixtures/numpy/ with REAL numpy, plus expected.json
holding every value, so test/io.test.ts can check gradlab's readers against what numpy wrote.

    /usr/bin/python3 scripts/make-fixtures.py      # needs numpy; torch is optional (bf16 rounding)

safetensors files are written byte by byte here (struct + json), following the format spec, since
the `safetensors` package is not installable offline. BF16 tensors use float32 bit truncation (the
upper 16 bits), which is exactly representable and so needs no rounding decision. The
float16/bfloat16 *rounding* references (f16_rounding.npz) come from numpy's astype(float16) and, if
importable, torch's .to(torch.bfloat16) — both round to nearest even.
Values are deterministic: re-running gives identical bytes (except the numpy/torch version stamp).
"""
import json
import math
import os
import struct
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "fixtures", "numpy")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20240601)


def values_of(a):
    """C-order flat values as JSON: floats exact (float32 → its exact double), non-finite as strings."""
    out = []
    for v in np.ascontiguousarray(a).reshape(-1).tolist():
        if isinstance(v, float) and not math.isfinite(v):
            out.append("NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity"))
        elif isinstance(v, bool):
            out.append(1 if v else 0)
        else:
            out.append(v)
    return out


DTYPE_NAMES = {"f2": "float16", "f4": "float32", "f8": "float64", "i1": "int8", "i2": "int16", "i4": "int32",
               "i8": "int64", "u1": "uint8", "u2": "uint16", "u4": "uint32", "u8": "uint64", "b1": "bool"}


def describe(a, fortran=None):
    return {"dtype": DTYPE_NAMES[a.dtype.str[1:]], "shape": list(a.shape),
            "fortran_order": bool(fortran if fortran is not None else (a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous)),
            "values": values_of(a)}


expected = {"generator": "scripts/make-fixtures.py", "numpy": np.__version__, "npy": {}, "npy_errors": {},
            "npz": {}, "npz_member_order": {}, "safetensors": {}, "safetensors_errors": {}}

# ---- .npy: one file per dtype / order / header version / edge case ----------------------------
base23 = np.array([[0.5, -1.25, 3.0], [1e-3, 65504.0, -0.0]])
arrays = {
    "f4_c_2x3.npy": base23.astype(np.float32),
    "f4_f_2x3.npy": np.asfortranarray(base23.astype(np.float32)),
    "f8_c_2x3x4.npy": rng.standard_normal((2, 3, 4)),
    "f8_f_2x3x4.npy": np.asfortranarray(rng.standard_normal((2, 3, 4))),
    "i4_f_3x2.npy": np.asfortranarray(np.array([[-2**31, 2**31 - 1], [0, -1], [7, 123456]], dtype=np.int32)),
    "f8_nonfinite.npy": np.array([np.nan, np.inf, -np.inf, 1.5]),
    "f2.npy": np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 2.0**-24, 2.0**-14, np.inf, -np.inf, 0.1], dtype=np.float16),
    "i1.npy": np.array([-128, -1, 0, 127], dtype=np.int8),
    "i2.npy": np.array([-32768, -1, 0, 32767], dtype=np.int16),
    "i4.npy": np.array([-2**31, -1, 0, 2**31 - 1, 42], dtype=np.int32),
    "i8.npy": np.array([-(2**53 - 1), -1, 0, 1, 2**53 - 1, 10**15], dtype=np.int64),
    "u1.npy": np.array([0, 1, 127, 128, 255], dtype=np.uint8),
    "u2.npy": np.array([0, 65535, 1000], dtype=np.uint16),
    "u4.npy": np.array([0, 2**32 - 1, 12345], dtype=np.uint32),
    "u8.npy": np.array([0, 2**53 - 1, 99], dtype=np.uint64),
    "b1.npy": np.array([[True, False, True], [False, False, True]]),
    "scalar_f8.npy": np.array(3.25),
    "scalar_i8.npy": np.array(-7, dtype=np.int64),
    "empty_f4.npy": np.zeros((0,), dtype=np.float32),
    "empty_3x0_i4.npy": np.zeros((3, 0), dtype=np.int32),
    "f4_1d_long.npy": (np.arange(100, dtype=np.float32) / 7).astype(np.float32),
}
for name, a in arrays.items():
    np.save(os.path.join(OUT, name), a)
    expected["npy"][name] = describe(a)

# Big-endian files: numpy writes them as-is ('>f8', '>i4').
for name, a in {"f8_be.npy": np.array([1.5, -2.0, 1e300], dtype=">f8"),
                "i4_be_2x2.npy": np.array([[1, -2], [3, 2**31 - 1]], dtype=">i4"),
                "f4_be_f_2x3.npy": np.asfortranarray(base23.astype(">f4"))}.items():
    np.save(os.path.join(OUT, name), a)
    expected["npy"][name] = describe(a.astype(a.dtype.newbyteorder("<")))
    expected["npy"][name]["fortran_order"] = bool(a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous)

# Header versions 2.0 and 3.0 (np.save picks 1.0 for small headers; write_array can force them).
for version in [(2, 0), (3, 0)]:
    name = f"f4_v{version[0]}.npy"
    a = base23.astype(np.float32)
    with open(os.path.join(OUT, name), "wb") as f:
        np.lib.format.write_array(f, a, version=version)
    expected["npy"][name] = describe(a)

# Files gradlab must refuse, with the phrase its error should contain.
np.save(os.path.join(OUT, "i8_unsafe.npy"), np.array([1, 2**53, 3], dtype=np.int64))
expected["npy_errors"]["i8_unsafe.npy"] = "beyond"
expected["npy"]["i8_unsafe.npy"] = {"dtype": "int64", "shape": [3], "fortran_order": False, "values": ["1", str(2**53), "3"]}
np.save(os.path.join(OUT, "structured.npy"), np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
expected["npy_errors"]["structured.npy"] = "structured dtype"
np.save(os.path.join(OUT, "complex.npy"), np.array([1 + 2j], dtype=np.complex64))
expected["npy_errors"]["complex.npy"] = "unsupported dtype '<c8'"
np.save(os.path.join(OUT, "unicode.npy"), np.array(["ab"]))
expected["npy_errors"]["unicode.npy"] = "unsupported dtype '<U2'"

# ---- .npz: np.savez (stored) and np.savez_compressed (deflate) ---------------------------------
members = {
    "weights": rng.standard_normal((3, 4)).astype(np.float32),
    "steps": np.array([1, 2, 3, 2**40], dtype=np.int64),
    "scalar": np.array(0.125),
    "fortran": np.asfortranarray(np.arange(24, dtype=np.float64).reshape(2, 3, 4)),
    "mask": np.array([True, False, True]),
    "empty": np.zeros((0, 3), dtype=np.float32),
}
np.savez(os.path.join(OUT, "arrays.npz"), **members)
np.savez_compressed(os.path.join(OUT, "arrays_compressed.npz"), **members)
for name in ["arrays.npz", "arrays_compressed.npz"]:
    expected["npz"][name] = {k: describe(v) for k, v in members.items()}
    expected["npz_member_order"][name] = list(members)  # expected.json's keys are sorted; archives keep this order

# float16/bfloat16 rounding references: edge cases + random float32 values across the ranges.
f16_edges = np.array([0, -0.0, 1, 65504, 65519.99, 65520, 1e9, 2**-24, 2**-25, 1.5 * 2**-25, 2**-26, 2**-14,
                      2**-14 - 2**-25, 1 + 2**-11, 1 + 3 * 2**-11, 0.1, 1 / 3, np.inf, -np.inf], dtype=np.float32)
f32 = np.concatenate([f16_edges, (rng.standard_normal(120) * np.exp(rng.uniform(-20, 12, 120))).astype(np.float32)])
with np.errstate(over="ignore"):  # 65520 and 1e9 overflow to inf on purpose
    rounding = {"f32": f32, "f16_bits": f32.astype(np.float16).view(np.uint16)}
try:
    import torch  # noqa: E402
    rounding["bf16_bits_torch"] = torch.from_numpy(f32.copy()).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
except Exception as e:  # torch missing: the bf16 rounding check is skipped in the tests
    print(f"torch unavailable ({e}); f16_rounding.npz has no bf16_bits_torch", file=sys.stderr)
np.savez(os.path.join(OUT, "f16_rounding.npz"), **rounding)
expected["npz"]["f16_rounding.npz"] = {k: describe(v) for k, v in rounding.items()}

# ---- safetensors, written by hand -----------------------------------------------------------------
ST_CODES = {"float32": "F32", "float64": "F64", "int64": "I64", "int32": "I32", "float16": "F16", "uint8": "U8", "bool": "BOOL"}


def write_safetensors(path, tensors, metadata=None, pad_to=8):
    """tensors: list of (name, code, shape, raw little-endian bytes) in file order."""
    header, offset = {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, code, shape, raw in tensors:
        header[name] = {"dtype": code, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((-len(text)) % pad_to)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for *_, raw in tensors:
            f.write(raw)


f32_src = (rng.standard_normal(5) * 3).astype(np.float32)
bf16_bits = (f32_src.view(np.uint32) >> 16).astype(np.uint16)
bf16_value = (bf16_bits.astype(np.uint32) << 16).view(np.float32)
st = [
    ("w.f32", "F32", (2, 3), rng.standard_normal((2, 3)).astype("<f4")),
    ("b.f64", "F64", (3,), np.array([1e-300, -2.5, 1e300], dtype="<f8")),
    ("ids.i64", "I64", (4,), np.array([-(2**53 - 1), 0, 7, 2**53 - 1], dtype="<i8")),
    ("grid.i32", "I32", (2, 2), np.array([[1, -2], [2**31 - 1, -2**31]], dtype="<i4")),
    ("half.f16", "F16", (5,), np.array([0.5, -1.0, 65504.0, 2.0**-24, 0.1], dtype="<f2")),
    ("bytes.u8", "U8", (3,), np.array([0, 128, 255], dtype=np.uint8)),
    ("mask.bool", "BOOL", (2,), np.array([True, False])),
    ("scalar.f32", "F32", (), np.array(2.75, dtype="<f4")),
    ("empty.f32", "F32", (0, 2), np.zeros((0, 2), dtype="<f4")),
]
tensors = [(n, c, s, a.tobytes()) for n, c, s, a in st] + [("brain.bf16", "BF16", (5,), bf16_bits.astype("<u2").tobytes())]
meta = {"format": "pt", "source": "make-fixtures.py"}
write_safetensors(os.path.join(OUT, "mixed.safetensors"), tensors, meta)
exp = {"metadata": meta, "tensors": {}}
for n, c, s, a in st:
    exp["tensors"][n] = {"dtype": DTYPE_NAMES[a.dtype.str[1:]], "shape": list(s), "values": values_of(a)}
exp["tensors"]["brain.bf16"] = {"dtype": "bfloat16", "shape": [5], "values": values_of(bf16_value)}
expected["safetensors"]["mixed.safetensors"] = exp

# Malformed safetensors files (each breaks one rule) and the phrase the error should contain.
one = np.arange(4, dtype="<f4").tobytes()


def write_raw_header(path, header_obj, data):
    text = json.dumps(header_obj).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


bad = {
    "bad_overlap.safetensors": ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                 "b": {"dtype": "F32", "shape": [3], "data_offsets": [4, 16]}}, one, "overlap"),
    "bad_out_of_range.safetensors": ({"a": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}}, one, "exceed"),
    "bad_size_mismatch.safetensors": ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, one, "needs 12"),
    "bad_hole.safetensors": ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, one, "hole"),
    "bad_dtype.safetensors": ({"a": {"dtype": "C64", "shape": [2], "data_offsets": [0, 16]}}, one, "unknown dtype"),
    "bad_metadata.safetensors": ({"__metadata__": {"n": 3}, "a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, one, "__metadata__.n"),
}
for name, (header_obj, data, phrase) in bad.items():
    write_raw_header(os.path.join(OUT, name), header_obj, data)
    expected["safetensors_errors"][name] = phrase

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")

total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, to {os.path.relpath(OUT)}")
