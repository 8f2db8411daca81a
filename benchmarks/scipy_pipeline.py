#!/usr/bin/python3
"""The classical EM Mask pipeline written with numpy / scipy.ndimage: the peer for benchmarks.

It runs the same steps, in the same order and with the same parameters, as
``EmMask.Core.Masking.ClassicalMasker`` so that the speed ratio compares implementations, not algorithms.

Usage as a script (the whole-CLI peer)::

    /usr/bin/python3 benchmarks/scipy_pipeline.py IN.h5:/raw OUT.h5:/mask
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np
from scipy import ndimage as ndi

DEFAULTS = dict(
    block_size=9,
    texture_sigma=2.0,
    edge_sigma=1.0,
    minimum_region_size=1000,
    dog_sigma_low=1.0,
    dog_sigma_high=2.0,
    isotropy=0.06,
    dense_threshold=2.0,
    dense_gap=16,
    threshold=None,  # None = auto (Otsu on log texture-to-noise ratio)
)

SOFTNESS = 0.25  # width of the soft vote in log units, as in ClassicalMasker


SAMPLE = 1 << 20
NOISE_SAMPLE = 1 << 18  # NoiseEstimator.SampleLimit


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
    """Robust noise std: 1.4826 MAD of first differences along x over sqrt(2), on a row sample (<= 2**18)."""
    rows = n.reshape(-1, n.shape[-1])
    step = max(1, -(-(rows.shape[0] * (rows.shape[1] - 1)) // NOISE_SAMPLE))
    d = np.diff(rows[::step], axis=1).ravel()
    mad = np.median(np.abs(d - np.median(d)))
    return max(1.4826 * mad / np.sqrt(2.0), 1e-4)


def _kernel(sigma, half_width):
    r = int(4.0 * sigma + 0.5)
    k = np.zeros(2 * half_width + 1)
    x = np.arange(-r, r + 1)
    k[half_width - r: half_width + r + 1] = np.exp(-0.5 * x * x / sigma ** 2)
    return k / k.sum()


def _diff(g):
    return (np.r_[g[1:], 0] - np.r_[0, g[:-1]]) / 2


def gradient_gain(sigma):
    """Per-axis white-noise gain of the central-difference gradient of G(sigma)."""
    g = _kernel(sigma, int(4.0 * sigma + 0.5) + 1)
    d = _diff(g)
    return (d @ d) * (g @ g) ** 2


def dog_gradient_gain(low, high):
    """Per-axis white-noise gain of the central-difference gradient of G(low) - G(high)."""
    r = int(4.0 * max(low, high) + 0.5) + 1
    a, b = _kernel(low, r), _kernel(high, r)
    da, db = _diff(a), _diff(b)
    return (da @ da) * (a @ a) ** 2 - 2 * (da @ db) * (a @ b) ** 2 + (db @ db) * (b @ b) ** 2


def smallest_eigenvalue(a, b, c, d, e, f, isotropy=0.0):
    """Smallest eigenvalue of [[a, d, e], [d, b, f], [e, f, c]] per voxel (trigonometric closed form); with isotropy
    rho0 > 0 scaled by min(1, lmin / (rho0 * lmax)) ** 3 as in SymmetricEigen.Penalise."""
    q = (a + b + c) / 3
    a, b, c = a - q, b - q, c - q
    p = np.sqrt(np.maximum((a * a + b * b + c * c + 2 * (d * d + e * e + f * f)) / 6, 1e-30))
    det = a * (b * c - f * f) - d * (d * c - f * e) + e * (d * f - b * e)
    r = np.clip(det / (2 * p ** 3), -1, 1)
    theta = np.arccos(r) / 3
    smallest = q + 2 * p * np.cos(theta + 2 * np.pi / 3)
    if isotropy <= 0:
        return smallest
    largest = q + 2 * p * np.cos(theta)
    lo = np.maximum(smallest, 0)
    m = np.minimum(1, lo / np.maximum(largest * np.float32(isotropy), 1e-30))
    return lo * m ** 3


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


def valley(values, bins=256):
    """Lowest point of the smoothed histogram between Otsu's class means (histogram-based), and Otsu's eta."""
    t0, eta = otsu(values, bins)
    lo, hi = float(values.min()), float(values.max())
    hist, edges = np.histogram(values, bins=bins, range=(lo, hi))
    centres = (edges[:-1] + edges[1:]) / 2
    low, high = centres < t0, centres >= t0
    if hist[low].sum() == 0 or hist[high].sum() == 0:
        return t0, eta
    m0 = (hist[low] * centres[low]).sum() / hist[low].sum()
    m1 = (hist[high] * centres[high]).sum() / hist[high].sum()
    smooth = ndi.gaussian_filter1d(hist.astype(np.float64), 2.0)
    between = (centres > m0) & (centres < m1)
    if not between.any():
        return t0, eta
    return float(centres[between][np.argmin(smooth[between])]), eta


def _stride(values, limit):
    """ceil(n / limit), raised until coprime with the row length (ClassicalMasker.SampleStride)."""
    step = max(1, -(-values.size // limit))
    while step > 1 and math.gcd(step, values.shape[-1]) != 1:
        step += 1
    return step


def _sample(values):
    """The density reference's sample (DenseStructure.Measure): limit 2**16."""
    return values.ravel()[::_stride(values, 1 << 16)]


def _lower_median(values):
    k = (values.size - 1) // 2
    return float(np.partition(values, k)[k])


def _enclosed_along(dense, axis, gap):
    """Non-dense voxels in a run of at most ``gap`` voxels with a dense voxel at each end along ``axis``."""
    h = np.moveaxis(dense, axis, -1)
    n = h.shape[-1]
    idx = np.arange(n, dtype=np.int32)
    prev = np.maximum.accumulate(np.where(h, idx, -1), axis=-1)
    nxt = np.minimum.accumulate(np.where(h, idx, n)[..., ::-1], axis=-1)[..., ::-1]
    enclosed = (prev >= 0) & (nxt < n) & (nxt - prev - 1 <= gap) & ~h
    return np.moveaxis(enclosed, -1, axis)


def suppress_dense(vote, log_r, t, s, dense_threshold, dense_gap):
    """Electron-dense structures and what they enclose are non-brain (DenseStructure in the core)."""
    vs, ss = _sample(log_r), _sample(s)
    tissue, resin = ss[vs >= np.float32(t)], ss[vs < np.float32(t)]
    minimum = max(1, int(0.005 * vs.size))
    if tissue.size < minimum or resin.size < minimum:
        return vote
    mt, mr = _lower_median(tissue), _lower_median(resin)
    spread = 1.4826 * _lower_median(np.abs(tissue - np.float32(mt)))
    if not spread > 0 or abs(mt - mr) < 0.25 * spread:
        return vote
    direction = 1.0 if mt >= mr else -1.0
    z = (np.float32(direction / spread) * (s - np.float32(mt))).astype(np.float32)
    vote = vote * (1.0 / (1.0 + np.exp((z - np.float32(dense_threshold)) / np.float32(0.25)))).astype(np.float32)
    if dense_gap > 0:
        dense = z > dense_threshold
        count = sum(_enclosed_along(dense, axis, dense_gap).astype(np.uint8) for axis in range(3))
        vote[count >= 2] = 0
    return vote


def classical_mask(raw, block_size=9, texture_sigma=2.0, edge_sigma=1.0, minimum_region_size=1000,
                   dog_sigma_low=1.0, dog_sigma_high=2.0, threshold=None, isotropy=0.06, dense_threshold=2.0,
                   dense_gap=16):
    n = normalise(raw)
    sn = noise_sigma(n)
    a = ndi.gaussian_filter(n, dog_sigma_low)
    d = a - ndi.gaussian_filter(n, dog_sigma_high)
    s = a if edge_sigma == dog_sigma_low else ndi.gaussian_filter(n, edge_sigma)
    kd = np.float32(1 / np.sqrt(dog_gradient_gain(dog_sigma_low, dog_sigma_high)))
    ks = np.float32(1 / np.sqrt(gradient_gain(edge_sigma)))
    gd = [g * kd for g in np.gradient(d)]
    gs = [g * ks for g in np.gradient(s)]
    pairs = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]
    j = [ndi.gaussian_filter(gd[i] * gd[k] + gs[i] * gs[k], texture_sigma) for i, k in pairs]
    lam = smallest_eigenvalue(*j, isotropy=isotropy)
    log_r = 0.5 * np.log(np.maximum(lam, 1e-20)) - np.float32(0.5 * np.log(2.0) + np.log(sn))
    if threshold is None:
        t, eta = valley(log_r.ravel()[::_stride(log_r, 1 << 20)])
        t = t if eta >= 0.7 else np.log(2.0)
    else:
        t = np.log(threshold)
    vote = (1.0 / (1.0 + np.exp(-(log_r - np.float32(t)) / np.float32(SOFTNESS)))).astype(np.float32)
    if dense_threshold > 0:
        vote = suppress_dense(vote, log_r, t, s, dense_threshold, dense_gap)
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
