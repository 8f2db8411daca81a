#!/usr/bin/python3
"""The PyTorch peer of `emmask mask --method unet --no-skip`: same network, same weights, same windows, same blending.

The shipped default model (models/em-mask-unet-v2.safetensors; any with --model) is loaded into the MONAI UNet module tree rebuilt in plain
torch (tests/fixtures/monai_unet_reference.py; MONAI itself is not installable here), the input is normalised as
EmMask.Learning's IntensityNormalization does, and the volume is predicted with MONAI sliding-window semantics as
EmMask.Core's SlidingWindowPlan / SlidingWindowInferer / GaussianImportanceMap implement them (ROI rounded up to a
multiple of 16 and clamped to thin axes, overlap 0.25, Gaussian weights sigma = 0.125 * roi floored at 1e-3, sigmoid,
probability >= 0.5). The probability map agrees with ours to ~1e-3, so its speed is a fair peer for ours.

Usage: /usr/bin/python3 benchmarks/torch_unet_peer.py IN.h5[:/raw] OUT.h5[:/mask] [--probability P.h5[:/confidence]]
       [--roi 64] [--overlap 0.25] [--batch 2] [--model PATH] [--threads N] [--device cpu|cuda] [--precision fp32|bf16]
       [--json]

Device-resident: the padded volume, the Gaussian weights and both accumulators live on --device; windows are cut,
run and blended there, and the probabilities come back once. --precision bf16 runs the network under torch.autocast.
The JSON's NetworkSeconds is the sliding window alone (after one warm-up batch, synchronised), the counterpart of
the CLI's Stages.network.

Run it with Debian's python3-torch, in its own process: never in a process that has loaded TorchSharp's libtorch.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import struct
import sys
import time

import h5py
import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
from monai_unet_reference import UNet  # noqa: E402  (the one copy of the MONAI module tree)

DEFAULT_MODEL = os.path.join(ROOT, "models", "em-mask-unet-v2.safetensors")  # the shipped default
MAX_SAMPLES = 1 << 20          # IntensityNormalization.MaxSamples
MIN_WEIGHT = 1e-3              # GaussianImportanceMap.DefaultMinimum
SIGMA_SCALE = 0.125            # SlidingWindowOptions.SigmaScale
DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "BF16": None}


# ---------------------------------------------------------------------------------------------------------- model --

def read_safetensors(path):
    """(tensors, metadata) of a .safetensors file: u64 LE header length, JSON header, raw little-endian data."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in header.items():
        dtype = DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        begin, end = info["data_offsets"]
        array = np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<"), count=(end - begin) // np.dtype(dtype).itemsize,
                              offset=begin).reshape(info["shape"])
        tensors[name] = torch.from_numpy(array.astype(np.float32))
    return tensors, metadata


def load_model(path):
    """The eval-mode network and its emmask.config (channels, strides, residual units, ...)."""
    tensors, metadata = read_safetensors(path)
    if "emmask.config" not in metadata:
        raise ValueError(f"{path}: no emmask.config in the safetensors metadata")
    cfg = json.loads(metadata["emmask.config"])
    if cfg.get("Norm", "instance") != "instance" or cfg.get("Act", "prelu") != "prelu":
        raise ValueError(f"{path}: the reference module tree has instance norm + PReLU only, not {cfg.get('Norm')} + {cfg.get('Act')}")
    if metadata.get("emmask.normalization", "percentile-1-99-v1") != "percentile-1-99-v1":
        raise ValueError(f"{path}: normalisation {metadata['emmask.normalization']} is not the one this peer implements")
    net = UNet(cfg["SpatialDims"], cfg["InChannels"], cfg["OutChannels"], cfg["Channels"], cfg["Strides"],
               kernel=cfg.get("Kernel", 3), up_kernel=cfg.get("UpKernel", 3), num_res_units=cfg["NumResUnits"],
               dropout=cfg.get("Dropout", 0.0))
    net.load_state_dict(tensors, strict=True)
    net.eval()
    return net, cfg


# -------------------------------------------------------------------------------------------------- normalisation --

def lost_sections(volume):
    """IntensityNormalization.LostSections: per z section, whether it holds one value throughout (NaNs ignored; all
    NaN counts as one value); none when every section does."""
    v = np.asarray(volume, dtype=np.float32)
    v = v.reshape((1,) * (3 - v.ndim) + v.shape)
    lost = np.array([np.unique(s[~np.isnan(s)]).size <= 1 for s in v])
    return np.zeros_like(lost) if lost.all() else lost


def percentiles(flat, lost=None, plane=1):
    """IntensityNormalization.Percentiles: numpy 'linear' 1st/99th percentiles of a stride subsample (<= 2^20 voxels,
    every voxel up to that size), NaNs ignored, the voxels of lost sections (``lost``, sections of ``plane`` voxels)
    left out; the sample values are float32 as in C#."""
    stride = max(1, math.ceil(flat.size / MAX_SAMPLES))
    index = np.arange(0, flat.size, stride)
    if lost is not None:
        index = index[~lost[index // plane]]
    sample = flat[index]
    sample = sample[~np.isnan(sample)]
    if sample.size == 0:
        return 0.0, 0.0
    sample = np.sort(sample)
    return quantile(sample, 0.01), quantile(sample, 0.99)


def quantile(s, q):
    # The C# Quantile: lerp in double between the closest ranks, then rounded to float32.
    pos = q * (s.size - 1)
    i = int(math.floor(pos))
    j = min(i + 1, s.size - 1)
    return float(np.float32(float(s[i]) + (float(s[j]) - float(s[i])) * (pos - i)))


def normalise(raw):
    """float32 (v - p1) / (p99 - p1), not clipped; zeros for a constant volume.

    Ours first runs the NaN-cleaning IntensityNormalizer (a positive affine map; non-finite voxels become the median)
    and then this normalisation, which is invariant to that map, so for finite input one pass is the same maths; only
    float rounding differs (~1e-7 relative). Non-finite voxels are replaced by the median here as well.
    """
    v = np.asarray(raw, dtype=np.float32).ravel().copy()
    bad = ~np.isfinite(v)
    if bad.any():
        if bad.all():
            raise ValueError("the volume has no finite values (all NaN or infinite)")
        sample = v[::max(1, math.ceil(v.size / MAX_SAMPLES))]
        sample = np.sort(sample[np.isfinite(sample)]) if np.isfinite(sample).any() else v[~bad].min(keepdims=True)
        v[bad] = sample[(sample.size - 1) // 2]
    shape = np.shape(raw)
    low, high = percentiles(v, lost_sections(v.reshape(shape)), int(np.prod(shape[-2:])) if len(shape) >= 2 else 1)
    out = np.zeros_like(v)
    if high - low > 0:
        scale = np.float32(1.0 / np.float32(high - low))   # C#: 1f / range, then Subtract, Multiply
        np.subtract(v, np.float32(low), out=out)
        np.multiply(out, scale, out=out)
    return out.reshape(np.shape(raw))


# --------------------------------------------------------------------------------------------------- sliding window --

def round_up(value, multiple):
    return (value + multiple - 1) // multiple * multiple


def scan_interval(image, roi, overlap):
    if roi == image:
        return roi
    return max(int(roi * (1 - overlap)), 1)


def axis_starts(image, roi, interval):
    """MONAI dense_patch_slices on one axis (SlidingWindowPlan.AxisStarts)."""
    patch = min(roi, image)
    num = math.ceil(image / interval)
    count = 1
    for d in range(num):
        if d * interval + patch >= image:
            count = d + 1
            break
    return [i * interval - max(i * interval + patch - image, 0) for i in range(count)]


def plan(shape, roi, overlap, pad_multiple):
    """SlidingWindowPlan.Create with ClampRoi (the CLI's setting): (roi, padded shape, pad before, starts per axis)."""
    r, padded, before, starts = [], [], [], []
    for size, want in zip(shape, roi):
        edge = min(round_up(want, pad_multiple), round_up(size, pad_multiple))
        p = max(size, edge)
        r.append(edge)
        padded.append(p)
        before.append((p - size) // 2)
        starts.append(axis_starts(p, edge, scan_interval(p, edge, overlap)))
    return r, padded, before, starts


def gaussian_weights(roi):
    """GaussianImportanceMap: separable exp(-d^2 / 2 sigma^2), each axis divided by its maximum, product in double,
    cast to float32, floored at 1e-3."""
    axes = []
    for n in roi:
        sigma = n * SIGMA_SCALE
        d = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
        g = np.exp(d * d / (-2 * sigma * sigma))
        axes.append(g / g.max())
    w = axes[0][:, None, None] * axes[1][None, :, None] * axes[2][None, None, :]
    return np.maximum(w.astype(np.float32), np.float32(MIN_WEIGHT))


def autocast(device, precision):
    """torch.autocast for bf16 (fp32: a no-op context)."""
    if precision == "fp32":
        return torch.autocast(device_type=torch.device(device).type, enabled=False)
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)


def synchronize(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def sliding_window(net, volume, roi, overlap, batch, pad_multiple, device="cpu", precision="fp32"):
    """Blended sigmoid probabilities of a normalised (Z, Y, X) float32 volume; returns (probabilities, windows).
    Everything but the input upload and the final download stays on `device`."""
    r, padded, before, starts = plan(volume.shape, roi, overlap, pad_multiple)
    x = torch.zeros(padded, dtype=torch.float32, device=device)  # zero padding of the normalised input, as MONAI's constant pad
    z0, y0, x0 = before
    x[z0:z0 + volume.shape[0], y0:y0 + volume.shape[1], x0:x0 + volume.shape[2]] = torch.from_numpy(volume).to(device)
    weights = torch.from_numpy(gaussian_weights(r)).to(device)
    numerator = torch.zeros(padded, dtype=torch.float32, device=device)
    denominator = torch.zeros(padded, dtype=torch.float32, device=device)
    windows = [(z, y, xx) for z in starts[0] for y in starts[1] for xx in starts[2]]  # z-major, like meshgrid "ij"
    for first in range(0, len(windows), batch):
        chunk = windows[first:first + batch]
        inputs = torch.stack([x[z:z + r[0], y:y + r[1], xx:xx + r[2]] for z, y, xx in chunk])[:, None]
        with autocast(device, precision):
            logits = net(inputs)
        probabilities = torch.sigmoid(logits.float())[:, 0]
        for (z, y, xx), p in zip(chunk, probabilities):
            numerator[z:z + r[0], y:y + r[1], xx:xx + r[2]].add_(p * weights)
            denominator[z:z + r[0], y:y + r[1], xx:xx + r[2]].add_(weights)
    crop = (slice(z0, z0 + volume.shape[0]), slice(y0, y0 + volume.shape[1]), slice(x0, x0 + volume.shape[2]))
    return (numerator[crop] / denominator[crop]).cpu().numpy(), len(windows)


# ------------------------------------------------------------------------------------------------------------- CLI --

def split_path(text, default):
    """'file.h5:/dataset' -> (file, dataset); the dataset defaults to `default` like the emmask CLI."""
    file, sep, dataset = text.rpartition(":")
    if sep and dataset.startswith("/"):
        return file, dataset
    return text, default


def write(text, default, array, dtype):
    file, dataset = split_path(text, default)
    with h5py.File(file, "a") as f:
        if dataset in f:
            del f[dataset]
        f.create_dataset(dataset, data=array.astype(dtype), compression="gzip", chunks=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", help="IN.h5[:/raw]")
    ap.add_argument("output", help="OUT.h5[:/mask]: uint8 mask, 1 = brain")
    ap.add_argument("--probability", help="also write the float32 probabilities here (P.h5[:/confidence])")
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--roi", type=int, default=64)
    ap.add_argument("--overlap", type=float, default=0.25)
    ap.add_argument("--batch", type=int, default=2, help="windows per forward pass (the emmask CLI's default is 2)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores, like ours)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda[:N]: where the network, volume and accumulators live")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"], help="bf16: the network under torch.autocast")
    ap.add_argument("--json", action="store_true", help="print a JSON summary instead of a line")
    args = ap.parse_args(argv)
    if args.roi < 1:
        ap.error("--roi must be at least 1")
    if not 0 <= args.overlap < 1:
        ap.error("--overlap must be in [0, 1)")
    if args.batch < 1:
        ap.error("--batch must be at least 1")
    torch.set_num_threads(args.threads)
    if torch.device(args.device).type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"error: --device {args.device}: this torch ({torch.__version__}) has no usable CUDA")

    clock = time.perf_counter()
    file, dataset = split_path(args.input, "/raw")
    with h5py.File(file, "r") as f:
        raw = f[dataset][()]
    if raw.ndim != 3:
        raise SystemExit(f"error: {args.input} is {raw.ndim}-D; the peer takes a 3-D (Z, Y, X) volume")
    read_seconds = time.perf_counter() - clock

    clock = time.perf_counter()
    net, cfg = load_model(args.model)
    net = net.to(args.device)
    pad_multiple = int(np.prod(cfg["Strides"]))   # UNetConfig.SizeDivisor
    # One warm-up batch (CUDA context, cuDNN plans, first-touch allocations): ours reports device start-up and model
    # load apart from its network stage too.
    with torch.inference_mode(), autocast(args.device, args.precision):
        net(torch.zeros((args.batch, 1) + (round_up(args.roi, pad_multiple),) * 3, device=args.device))
    synchronize(args.device)
    load_seconds = time.perf_counter() - clock

    # ComputeSeconds = normalise + sliding window + threshold. Ours (MaskingService) also counts the model load inside
    # UNetMethod.Run (and the NaN-cleaning normalisation pass); the peer's load is reported apart as LoadSeconds.
    clock = time.perf_counter()
    network_seconds = 0.0
    with torch.inference_mode():
        finite = raw[np.isfinite(raw)] if raw.dtype.kind == "f" else raw
        if finite.size and finite.min() == finite.max():
            # Ours (UNetMethod) answers a constant volume with an all-0 mask without running the network.
            probability, windows = np.zeros(raw.shape, np.float32), 0
        else:
            volume = normalise(raw)
            network_clock = time.perf_counter()
            probability, windows = sliding_window(net, volume, (args.roi,) * 3, args.overlap, args.batch, pad_multiple,
                                                  args.device, args.precision)
            synchronize(args.device)
            network_seconds = time.perf_counter() - network_clock
        mask = (probability >= np.float32(0.5)).astype(np.uint8)
    compute_seconds = time.perf_counter() - clock

    clock = time.perf_counter()
    write(args.output, "/mask", mask, np.uint8)
    if args.probability:
        write(args.probability, "/confidence", probability, np.float32)
    write_seconds = time.perf_counter() - clock

    summary = {
        "Input": args.input, "Output": args.output, "Shape": list(raw.shape), "Windows": windows,
        "TissueFraction": float(mask.mean()), "ReadSeconds": read_seconds, "LoadSeconds": load_seconds,
        "ComputeSeconds": compute_seconds, "WriteSeconds": write_seconds,
        "MvoxPerSecond": raw.size / compute_seconds / 1e6, "Threads": torch.get_num_threads(),
        "Torch": torch.__version__, "Batch": args.batch, "Device": args.device, "Precision": args.precision,
        "NetworkSeconds": network_seconds,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote {args.output}: {windows} windows, tissue {summary['TissueFraction']:.1%}, compute {compute_seconds:.2f} s "
              f"({summary['MvoxPerSecond']:.2f} Mvox/s, {summary['Threads']} threads), model load {load_seconds:.2f} s")
    return summary


if __name__ == "__main__":
    main()
