#!/usr/bin/python3
"""The classical EM Mask pipeline written with numpy / scipy.ndimage: the peer for benchmarks.

It runs the same steps, in the same order and with the same parameters, as
``EmMask.Core.Masking.ClassicalMasker`` so that the speed ratio compares implementations, not algorithms.

Usage as a script (the whole-CLI peer)::

    /usr/bin/python3 benchmarks/scipy_pipeline.py IN.h5:/raw OUT.h5:/mask
"""
from __future__ import annotations

import sys
import time

import numpy as np
from scipy import ndimage as ndi

DEFAULTS = dict(
    block_size=9,
    texture_sigma=3.0,
    edge_sigma=1.0,
    minimum_region_size=1000,
    dog_sigma_low=1.0,
    dog_sigma_high=2.0,
    threshold=None,  # None = auto (Otsu on log texture-to-noise ratio)
)

SOFTNESS = 0.25  # width of the soft vote in log units, as in ClassicalMasker


SAMPLE = 1 << 20


def normalise(raw):
    """Robust global normalisation: 1st..99th percentile -> 0..1, percentiles by rank on a strided sample."""
    x = raw.astype(np.float32)
    flat = x.ravel()
    if raw.dtype.kind == "f":
        step = max(1, -(-flat.size // SAMPLE))
        sample = np.sort(flat[::step][np.isfinite(flat[::step])])
    else:
        sample = np.sort(flat)
    lo = float(sample[int(np.floor(0.01 * (sample.size - 1)))])
    hi = float(sample[int(np.floor(0.99 * (sample.size - 1)))])
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        lo, hi = float(sample[0]), float(sample[-1])
    return ((x - lo) / (hi - lo)).astype(np.float32)


def noise_sigma(n):
    """Robust noise std: 1.4826 MAD of first differences along x over sqrt(2), on a row sample."""
    rows = n.reshape(-1, n.shape[-1])
    step = max(1, -(-(rows.shape[0] * (rows.shape[1] - 1)) // SAMPLE))
    d = np.diff(rows[::step], axis=1).ravel()
    mad = np.median(np.abs(d - np.median(d)))
    return max(1.4826 * mad / np.sqrt(2.0), 1e-4)


def _kernel(sigma, half_width):
    r = int(4.0 * sigma + 0.5)
    k = np.zeros(2 * half_width + 1)
    x = np.arange(-r, r + 1)
    k[half_width - r: half_width + r + 1] = np.exp(-0.5 * x * x / sigma ** 2)
    return k / k.sum()


def dog_gain(low, high):
    r = int(4.0 * high + 0.5)
    a, b = _kernel(low, r), _kernel(high, r)
    return (a @ a) ** 3 - 2 * (a @ b) ** 3 + (b @ b) ** 3


def gradient_gain(sigma):
    g = _kernel(sigma, int(4.0 * sigma + 0.5) + 1)
    d = (np.r_[g[1:], 0] - np.r_[0, g[:-1]]) / 2
    return 3 * (d @ d) * (g @ g) ** 2


def otsu(values, bins=256):
    """Otsu threshold (upper edge of the lower class's last bin) and separability eta."""
    lo, hi = float(values.min()), float(values.max())
    hist, edges = np.histogram(values, bins=bins, range=(lo, hi))
    centres = (edges[:-1] + edges[1:]) / 2
    total = hist.sum()
    w0 = np.cumsum(hist)[:-1].astype(np.float64)
    m0 = np.cumsum(hist * centres)[:-1]
    w1 = total - w0
    mean_all = (hist * centres).sum() / total
    var = (hist * centres ** 2).sum() / total - mean_all ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        between = w0 * w1 * (m0 / w0 - ((hist * centres).sum() - m0) / w1) ** 2 / total ** 2
    between[~np.isfinite(between)] = -1
    i = int(np.argmax(between))
    return lo + (i + 1) * (hi - lo) / bins, float(between[i] / var) if var > 0 else 0.0


def classical_mask(raw, block_size=9, texture_sigma=3.0, edge_sigma=1.0, minimum_region_size=1000,
                   dog_sigma_low=1.0, dog_sigma_high=2.0, threshold=None):
    n = normalise(raw)
    sn = noise_sigma(n)
    a = ndi.gaussian_filter(n, dog_sigma_low)
    b = ndi.gaussian_filter(n, dog_sigma_high)
    s = a if edge_sigma == dog_sigma_low else ndi.gaussian_filter(n, edge_sigma)
    energy = np.zeros_like(n)
    for g in np.gradient(s):
        energy += g * g
    energy *= np.float32(1.0 / gradient_gain(edge_sigma))
    energy += (a - b) ** 2 * np.float32(1.0 / dog_gain(dog_sigma_low, dog_sigma_high))
    energy = ndi.gaussian_filter(energy, texture_sigma)
    log_r = 0.5 * np.log(np.maximum(energy, 1e-20)) - np.float32(0.5 * np.log(2.0) + np.log(sn))
    if threshold is None:
        t, eta = otsu(log_r)
        t = t if eta >= 0.7 else np.log(2.0)
    else:
        t = np.log(threshold)
    vote = (1.0 / (1.0 + np.exp(-(log_r - np.float32(t)) / np.float32(SOFTNESS)))).astype(np.float32)
    confidence = ndi.uniform_filter(vote, block_size) if block_size > 1 else vote
    mask = confidence >= 0.5
    if minimum_region_size > 1:
        labels, count = ndi.label(mask)
        sizes = np.bincount(labels.ravel())
        small = sizes < minimum_region_size
        small[0] = False
        mask[small[labels]] = False
    return mask.astype(np.uint8), confidence.astype(np.float32), float(np.exp(t))


def _read(spec):
    import h5py
    path, _, ds = spec.partition(":")
    if path.endswith(".npy"):
        return np.load(path)
    with h5py.File(path, "r") as f:
        return f[ds or "/raw"][...]


def _write(spec, mask):
    import h5py
    path, _, ds = spec.partition(":")
    if path.endswith(".npy"):
        np.save(path, mask)
        return
    with h5py.File(path, "w") as f:
        f.create_dataset(ds or "/mask", data=mask, chunks=True, compression="gzip", compression_opts=4)


if __name__ == "__main__":
    t0 = time.perf_counter()
    raw = _read(sys.argv[1])
    t1 = time.perf_counter()
    mask, conf, thr = classical_mask(raw)
    t2 = time.perf_counter()
    _write(sys.argv[2], mask)
    print(f"read {t1 - t0:.3f}s compute {t2 - t1:.3f}s write {time.perf_counter() - t2:.3f}s threshold {thr:.3f}",
          file=sys.stderr)
