#!/usr/bin/python3
"""The classical EM Mask pipeline written with numpy / scipy.ndimage: the peer for benchmarks and cross-checks.

It mirrors ``EmMask.Core.Masking.ClassicalMasker`` (dotnet/EmMask.Core/Masking/ClassicalMasker.cs) step by step, with
the same parameters, constants, samples and order statistics, so that (1) the speed ratio in benchmarks/run.py
compares implementations, not algorithms, and (2) tests/python/test_scipy_peer.py can check the C# against an
independent implementation. Each function names the C# file it mirrors (paths below dotnet/EmMask.Core/):

* :func:`normalise` - Masking/IntensityNormalizer.cs
* :func:`detect_padding` - Masking/PaddingDetector.cs
* :func:`resolve_mode` - Masking/MaskingMode.cs (``MaskingModes.Resolve``)
* :func:`patch_statistics` - Masking/NoiseModel.cs (``PatchStatistics``)
* :func:`stabilise` - Masking/VarianceStabilizer.cs
* :func:`estimate_noise` - Masking/NoiseModel.cs (``NoiseModel.Estimate``)
* :func:`highest_level`, :func:`texture`, :func:`noise_reference`, :func:`simulate_noise` -
  Masking/TexturePyramid.cs (SplitMix64 + Box-Muller noise, the simulated-noise reference)
* :func:`smallest_eigenvalue`, :func:`log_ratio` - Masking/StructureTensor.cs and Masking/SymmetricEigen.cs
* :func:`gradient_gain`, :func:`dog_gradient_gain` - Masking/FilterGains.cs
* :func:`valley_threshold`, :func:`otsu` - Masking/ValleyThreshold.cs, Masking/OtsuThreshold.cs, Masking/ValueHistogram.cs
* :func:`stain_reference`, :func:`raise_votes` - Masking/StainRule.cs
* :func:`level_maps` - ``LevelMaps`` in Masking/ClassicalMasker.cs
* :func:`mean_downsample`, :func:`trilinear_upsample` - Inference/VolumeResampling.cs
* :func:`fill_holes`, :func:`fill_unmarked`, :func:`remove_small_regions` - Morphology/MaskMorphology.cs
* :func:`refine_boundary` - Masking/BoundaryRefinement.cs; :func:`resin_trim_measure`, :func:`resin_trim`, :func:`fine_resin_markers` - Masking/ResinIntensity.cs, ResinTrim.cs, FineResinMarkers.cs
* :func:`seeded_watershed` - Morphology/SeededWatershed.cs (the bucket queue, ported: skimage's heap orders ties
  and lower neighbours differently)
* :func:`classical_mask` - ``ClassicalMasker.Run`` / ``RunVolume`` (mode 2d: section by section)

The scipy Gaussian, uniform and distance filters are the ones the C# filters reproduce (reflect mode, truncate 4).
Remaining differences are floating point: the C# filters accumulate in float32 (scipy in float64), and its
vectorised log, sigmoid and fused multiply-adds round a little differently.

Usage as a script (the whole-CLI peer)::

    /usr/bin/python3 benchmarks/scipy_pipeline.py IN.h5:/raw OUT.h5:/mask
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

#: ``ClassicalMaskOptions.Default`` (Masking/ClassicalMaskOptions.cs), in Python names.
DEFAULTS = dict(
    block_size=9,
    texture_sigma=2.0,
    edge_sigma=1.0,
    minimum_region_size=1000,
    dog_sigma_low=1.0,
    dog_sigma_high=2.0,
    isotropy=0.06,
    dense_threshold=1.5,
    stain_join=0.5,
    trachea_gap=16,
    resin_window=3.0,
    mode="auto",  # "auto" | "2d" | "3d"
    level=None,  # None = automatic, else 0..3
    refine_boundary=True,
    threshold=None,  # None = automatic
)

F32 = np.float32

# ClassicalMasker
SOFTNESS = 0.25
UNIMODAL_THRESHOLD = 2.0
CONFIRMING_SECTIONS = 8  # ClassicalMasker.ConfirmingSections
THRESHOLD_SAMPLE_LIMIT = 1 << 20
# MaskingModes
MINIMUM_SECTIONS_3D = 64
ANISOTROPY_FOR_2D = 2.0
# ClassicalMaskOptions
REGION_SHARE_KEPT = 0.01
# SectionConsensus
SECTION_AGREEMENT = 0.5
SECTION_MINIMUM_SEPARATED = 2
SECTION_SHARE_FRACTION = 0.75
# TexturePyramid
MAXIMUM_LEVEL = 3
TEXTURE_TARGET = 10.0
SEPARABILITY = 0.75
NOISE_LIKE_RATIO = 8.0
NOISE_SEPARABILITY = 0.68
NOISE_RATIO = 1.25
RESIN_TRIM_WINDOW = 6.0  # ResinTrim.Window
RESIN_TRIM_SIGMA = 1.0  # ResinIntensity.SmoothingSigma
RESIN_MARKER_WINDOW = 1.5  # FineResinMarkers.Window
RESIN_FLATNESS_SIGMA = 2.0  # FineResinMarkers.FlatnessSigma
RESIN_FLATNESS_QUANTILE = 0.9  # FineResinMarkers.FlatnessQuantile
COHERENT_SEPARABILITY = 0.70  # TexturePyramid.CoherentSeparability: a section's lower class in one large region
COHERENT_REGION_SHARE = 0.25
COHERENT_NOISE_SEPARABILITY = 0.50  # TexturePyramid.CoherentNoiseSeparability: the same for plain noise, confirmed a level up
COHERENT_MINIMUM_SIDE = 128
FLAT_RATIO = 0.05  # TexturePyramid.FlatRatio: exactly flat pixels leave a level's threshold statistics
UPPER_SHARE_BELOW_THRESHOLD = 1 / 3  # TexturePyramid.UpperShareBelowThreshold: a threshold of 2 above the valley cuts no more of the upper class
TEXTURE_QUANTILE = 0.9
NOISE_SEED = 0x5EEDE3A5C0FFEE01
# NoiseModel / PatchStatistics
NOISE_FLOOR = 1e-4
MAXIMUM_CORRELATION = 2.0
PATCH = 16
FLAT_SHARE = 0.25
PATCH_LIMIT = 4096
# VarianceStabilizer
VST_BINS = 10
QUIET_SHARE = 0.2
FLAT_TOLERANCE = 0.15
VST_MINIMUM_PATCHES = 15 * VST_BINS
VST_TABLE = 2048
# StainRule
STAIN_SOFTNESS = 0.25
MINIMUM_CLASS_SHARE = 0.005
MINIMUM_SEPARATION = 0.25
STAIN_SAMPLE_LIMIT = 1 << 16
# ResinRule
RESIN_MINIMUM_SEPARATION = 8.0
RESIN_MINIMUM_SHARE = 0.03
RESIN_TEXTURE_QUANTILE = 0.9
RESIN_PEAK_ITERATIONS = 3
RESIN_MARKER_WEIGHT = 0.9  # BoundaryRefinement.ResinMarkerWeight
RESIN_HOLE_CELLS = 4  # ClassicalMasker.ResinHoleCells
RESIN_SOFTNESS = 0.25
POOLED_RESIN_VOTE = 0.1  # ClassicalMasker.PooledResinVote
# PaddingDetector
PADDING_AREA = 256
PADDING_CORE = 16
PADDING_CORE_SHARE = 0.25  # PaddingDetector.MinimumCoreShare: padding is solid
# BoundaryRefinement / SeededWatershed
HALO_LEVEL_VOXELS = 5.0
FULL_RESOLUTION_HALO = 2.0  # level 0: nothing is upsampled (BoundaryRefinement.FullResolutionHalo)
OUTSIDE_MARGIN = 2.0
GRADIENT_LEVEL_VOXELS = 0.5
WATERSHED_LEVELS = 1024


# ----------------------------------------------------------------------------------------------------------------------
# Order statistics and samples (Masking/Select.cs, ClassicalMasker.SampleStride / ThresholdSample)

def _nth(values, k):
    """The k-th smallest value (Select.Nth)."""
    return np.partition(values, k)[k]


def _median(values):
    """The lower median, element (n - 1) // 2 of the sorted values (Select.Median)."""
    return _nth(values, (values.size - 1) // 2)


def sample_stride(length, limit, row_length):
    """ceil(length / limit), raised until coprime with the row length (ClassicalMasker.SampleStride)."""
    step = max(1, -(-length // limit))
    while step > 1 and math.gcd(step, row_length) != 1:
        step += 1
    return step


def _sample(values, valid, limit):
    """Every stride-th value (flat order) where ``valid`` is set (ClassicalMasker.ThresholdSample)."""
    step = sample_stride(values.size, limit, values.shape[-1])
    picked = values.reshape(-1)[::step]
    return picked if valid is None else picked[valid.reshape(-1)[::step]]


# ----------------------------------------------------------------------------------------------------------------------
# Masking/IntensityNormalizer.cs

def _widen(lo, hi, lowest, highest):
    if hi - lo > 1e-12 * max(1.0, abs(hi)):
        return lo, hi, False
    if highest - lowest > 1e-12 * max(1.0, abs(highest)):
        return lowest, highest, False
    return lowest, highest, True


def normalise(raw):
    """1st/99th percentile -> 0/1 (exact ranks for integers, a strided sample of <= 2**20 for float32).

    Returns (normalised float32, non-finite count, constant flag, low value).
    """
    if raw.dtype in (np.uint8, np.uint16):
        levels = 256 if raw.dtype == np.uint8 else 65536
        histogram = np.bincount(raw.reshape(-1), minlength=levels)
        cumulative = np.cumsum(histogram)
        n = raw.size

        def rank(r):  # RankFromHistogram: the first value whose cumulative count exceeds the rank
            return float(np.searchsorted(cumulative, r, side="right"))

        lo, hi, constant = _widen(rank(math.floor(0.01 * (n - 1))), rank(math.floor(0.99 * (n - 1))), rank(0), rank(n - 1))
        scale = 0.0 if constant else 1.0 / (hi - lo)
        table = ((np.arange(levels, dtype=np.float64) - lo) * scale).astype(F32)
        return table[raw], 0, constant, lo
    x = np.ascontiguousarray(raw, dtype=F32)
    finite = np.isfinite(x)
    non_finite = int(x.size - np.count_nonzero(finite))
    if non_finite == x.size:
        raise ValueError("The volume has no finite values (all NaN or infinite).")
    lowest, highest = float(x[finite].min()), float(x[finite].max())
    step = max(1, -(-x.size // (1 << 20)))
    sample = x.reshape(-1)[::step]
    sample = np.sort(sample[np.isfinite(sample)])
    if sample.size == 0:
        sample = np.array([lowest], F32)
    lo = float(sample[math.floor(0.01 * (sample.size - 1))])
    hi = float(sample[math.floor(0.99 * (sample.size - 1))])
    median = sample[(sample.size - 1) // 2]
    lo, hi, constant = _widen(lo, hi, lowest, highest)
    out = x.copy()
    if non_finite:
        out[~finite] = median
    if constant:
        out[...] = 0
    else:
        out -= F32(lo)
        out *= F32(1.0 / (hi - lo))
    return out, non_finite, constant, lo


# ----------------------------------------------------------------------------------------------------------------------
# Masking/PaddingDetector.cs

def detect_padding(n):
    """Exact-constant padding (1 = padding) or None: per section, 4-connected components of equal values with at least
    256 voxels, at least 16 and at least a quarter of which have all eight neighbours equal."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nz, ny, nx = n.shape
    if ny * nx < PADDING_AREA or ny < 3 or nx < 3:
        return None
    centre = n[:, 1:-1, 1:-1]
    core = np.zeros(n.shape, bool)
    inner = np.ones(centre.shape, bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                inner &= n[:, 1 + dy:ny - 1 + dy, 1 + dx:nx - 1 + dx] == centre
    core[:, 1:-1, 1:-1] = inner
    if np.count_nonzero(core) < PADDING_CORE:
        return None  # no component can qualify (the usual case: noise leaves no flat 3x3 blocks)
    index = np.arange(n.size, dtype=np.int64).reshape(n.shape)
    right = n[:, :, 1:] == n[:, :, :-1]
    down = n[:, 1:, :] == n[:, :-1, :]
    rows = np.concatenate([index[:, :, :-1][right], index[:, :-1, :][down]])
    cols = np.concatenate([index[:, :, 1:][right], index[:, 1:, :][down]])
    graph = coo_matrix((np.ones(rows.size, np.int8), (rows, cols)), shape=(n.size, n.size))
    _, label = connected_components(graph, directed=False)
    size = np.bincount(label)
    cores = np.bincount(label, weights=core.reshape(-1))
    keep = (size >= PADDING_AREA) & (cores >= PADDING_CORE) & (cores >= PADDING_CORE_SHARE * size)
    if not keep.any():
        return None
    return keep[label].reshape(n.shape)


# ----------------------------------------------------------------------------------------------------------------------
# Masking/MaskingMode.cs

def resolve_mode(mode, shape, voxel_size):
    """MaskingModes.Resolve: "2d" for < 64 sections or z spacing >= 2x the x-y spacing (known voxel size), else "3d"."""
    if mode != "auto":
        return mode
    if shape[0] < MINIMUM_SECTIONS_3D:
        return "2d"
    vz, vy, vx = (1.0, 1.0, 1.0) if voxel_size is None else voxel_size
    plane = max(vy, vx)
    known = (vz, vy, vx) != (1.0, 1.0, 1.0) and plane > 0
    return "2d" if known and vz >= ANISOTROPY_FOR_2D * plane else "3d"


# ----------------------------------------------------------------------------------------------------------------------
# Masking/NoiseModel.cs: PatchStatistics and NoiseModel

@dataclass
class Patches:
    mean: np.ndarray
    second: np.ndarray
    dilated: np.ndarray
    coarse: np.ndarray
    sigma: float  # 1.4826 MAD of all second differences
    fallback: float  # white sigma of a volume too small for a patch


def _tiny_estimate(v):
    """MAD of first differences along x (or y, z) as white noise (PatchStatistics.TinyEstimate)."""
    nz, ny, nx = v.shape
    axis = 2 if nx >= 2 else 1 if ny >= 2 else 0
    if v.shape[axis] < 2:
        return NOISE_FLOOR
    d = np.diff(v, axis=axis).reshape(-1)
    return max(1.4826 * float(_median(np.abs(d - _median(d)))) / math.sqrt(2), NOISE_FLOOR)


def _second_difference(w, d):
    """[1, -2, 1] x [1, -2, 1] at lag d at the 16 x 16 centre of 20 x 20 windows (float32, the C# order)."""
    def row(dy):
        ys = slice(2 + dy, 18 + dy)
        return w[:, ys, 2 - d:18 - d] - 2 * w[:, ys, 2:18] + w[:, ys, 2 + d:18 + d]
    return row(-d) - 2 * row(0) + row(d)


def patch_statistics(v, valid):
    """A regular subset (<= 4096) of the 16 x 16 patches of every section whose 20 x 20 surround is valid."""
    nz, ny, nx = v.shape
    py, px = (ny - 4) // PATCH, (nx - 4) // PATCH
    total = nz * max(0, py) * max(0, px)
    if total == 0:
        e = np.zeros(0, F32)
        return Patches(e, e, e, e, 0.0, _tiny_estimate(v))
    step = max(1, -(-total // PATCH_LIMIT))
    k = np.arange(0, total, step)
    z, rest = k // (py * px), k % (py * px)
    y0, x0 = 2 + (rest // px) * PATCH, 2 + (rest % px) * PATCH
    offsets = np.arange(PATCH + 4)
    at = (z[:, None, None], (y0 - 2)[:, None, None] + offsets[None, :, None], (x0 - 2)[:, None, None] + offsets[None, None, :])
    if valid is not None:
        whole = valid[at].reshape(k.size, -1).all(axis=1)
        at = tuple(a[whole] for a in at)
    w = v[at]
    count = w.shape[0]
    if count == 0:
        e = np.zeros(0, F32)
        return Patches(e, e, e, e, 0.0, _tiny_estimate(v))
    r1 = _second_difference(w, 1).reshape(count, -1)
    r2 = _second_difference(w, 2).reshape(count, -1)
    # The patch sum and its sixteen 4 x 4 block sums in double, accumulated in the C# order (rows, then columns).
    centre = w[:, 2:18, 2:18].astype(np.float64)
    total_sum = np.zeros(count)
    blocks = np.zeros((count, 16))
    for y in range(PATCH):
        for x in range(PATCH):
            total_sum += centre[:, y, x]
            blocks[:, (y // 4) * 4 + x // 4] += centre[:, y, x]
    bm = np.zeros(count)
    for b in range(16):
        bm += blocks[:, b] / 16
    bm /= 16
    bs = np.zeros(count)
    for b in range(16):
        bs += (blocks[:, b] / 16 - bm) * (blocks[:, b] / 16 - bm)
    half = (PATCH * PATCH - 1) // 2
    second = np.partition(np.abs(r1), half, axis=1)[:, half]
    dilated = np.partition(np.abs(r2), half, axis=1)[:, half]
    signed = r1.reshape(-1)
    sigma = 1.4826 * float(_median(np.abs(signed - _median(signed))))
    return Patches((total_sum / (PATCH * PATCH)).astype(F32), second, dilated, np.sqrt(bs / 16).astype(F32), sigma, 0.0)


def _gaussian_taps(sigma):
    if sigma < 0.05:
        return np.ones(1)
    r = int(4 * sigma + 0.5)
    x = np.arange(-r, r + 1)
    k = np.exp(-0.5 * x * x / (sigma * sigma))
    return k / k.sum()


def second_difference_gain(c):
    """||[1, -2, 1] * g_c|| (NoiseModel.SecondDifferenceGain)."""
    return float(np.linalg.norm(np.convolve([1.0, -2.0, 1.0], _gaussian_taps(c))))


def _dilated_ratio(c):
    return float(np.linalg.norm(np.convolve([1.0, 0.0, -2.0, 0.0, 1.0], _gaussian_taps(c)))) / second_difference_gain(c)


_TABLE_STEP = 0.025
_RATIO_TABLE = [_dilated_ratio(i * _TABLE_STEP) for i in range(int(MAXIMUM_CORRELATION / _TABLE_STEP) + 1)]


def correlation_from_ratio(ratio):
    """The correlation whose dilated ratio is ``ratio`` (table lookup, NoiseModel.CorrelationFromRatio)."""
    table = _RATIO_TABLE
    if not ratio > table[0]:
        return 0.0
    for i in range(1, len(table)):
        if ratio <= table[i]:
            t = (ratio - table[i - 1]) / (table[i] - table[i - 1])
            return (i - 1 + t) * _TABLE_STEP
    return MAXIMUM_CORRELATION


def estimate_noise(patches):
    """(white sigma, correlation) from the flattest quarter of the patches (NoiseModel.Estimate)."""
    count = patches.mean.size
    if count == 0:
        return max(patches.fallback, NOISE_FLOOR), 0.0
    order = np.argsort(patches.coarse, kind="stable")
    take = max(min(4, count), int(FLAT_SHARE * count))
    m1 = float(_median(patches.second[order[:take]]))
    ratio = float(_median(patches.dilated[order[:take]])) / m1 if m1 > 0 else 1.0
    c = correlation_from_ratio(math.sqrt(max(ratio, 1e-12)))
    gain = second_difference_gain(c)
    return max(patches.sigma / (gain * gain), NOISE_FLOOR), c


# ----------------------------------------------------------------------------------------------------------------------
# Masking/VarianceStabilizer.cs

def noise_level_function(patches):
    """(intensities, sigmas) of ten intensity bins: the median noise of each bin's quietest fifth; None if < 150 patches."""
    n = patches.mean.size
    if n < VST_MINIMUM_PATCHES:
        return None
    order = np.argsort(patches.mean, kind="stable")
    xs, ys = [], []
    for b in range(VST_BINS):
        members = order[b * n // VST_BINS:(b + 1) * n // VST_BINS]
        members = members[np.lexsort((members, patches.second[members]))]
        quiet = members[:max(1, int(QUIET_SHARE * members.size))]
        xs.append(float(_median(patches.mean[quiet])))
        ys.append(float(_median(patches.second[quiet])) * 1.4826 / 6.0)
    return np.array(xs), np.array(ys)


def stabilise(v, patches):
    """Maps ``v`` in place through f(v) = integral of 1/sigma(v); False (unchanged) when sigma(mu) is flat."""
    nlf = noise_level_function(patches)
    if nlf is None:
        return False
    xs, ys = nlf
    top = ys.max()
    if top <= 0 or ys.min() >= (1 - FLAT_TOLERANCE) * top:
        return False
    lo, hi = float(v.min()), float(v.max())
    if not hi > lo:
        return False
    step = float(F32(F32(hi) - F32(lo)) / F32(VST_TABLE - 1))  # float arithmetic in the C# (hi, lo are floats)
    grid = lo + np.arange(VST_TABLE) * step
    i = np.clip(np.searchsorted(xs, grid, side="left"), 1, xs.size - 1)
    dx = xs[i] - xs[i - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(dx > 0, (grid - xs[i - 1]) / dx, 0.0)
    sigma = ys[i - 1] + (ys[i] - ys[i - 1]) * t
    sigma = np.where(grid <= xs[0], ys[0], np.where(grid >= xs[-1], ys[-1], sigma))
    inverse = 1 / np.maximum(sigma, 0.05 * top)
    table = np.zeros(VST_TABLE, F32)
    table[1:] = np.cumsum(0.5 * (inverse[:-1] + inverse[1:]) * step).astype(F32)
    t = (v - F32(lo)) * F32(1 / step)
    k = np.clip(t.astype(np.int32), 0, VST_TABLE - 2)
    w = t - k.astype(F32)
    v[...] = table[k] + (table[k + 1] - table[k]) * w
    return True


# ----------------------------------------------------------------------------------------------------------------------
# Masking/FilterGains.cs

def _kernel(sigma, half_width):
    r = int(4.0 * sigma + 0.5)
    k = np.zeros(2 * half_width + 1)
    x = np.arange(-r, r + 1)
    k[half_width - r: half_width + r + 1] = np.exp(-0.5 / (sigma * sigma) * x * x)
    return k / k.sum()


def _diff(g):
    return (np.r_[g[1:], 0] - np.r_[0, g[:-1]]) / 2


def gradient_gain(sigma):
    """Per-axis white-noise gain of the central-difference gradient of G(sigma) (FilterGains.SmoothedGradient)."""
    g = _kernel(sigma, int(4.0 * sigma + 0.5) + 1)
    d = _diff(g)
    return (d @ d) * (g @ g) * (g @ g)


def dog_gradient_gain(low, high):
    """Per-axis white-noise gain of the central-difference gradient of G(low) - G(high)."""
    r = int(4.0 * max(low, high) + 0.5) + 1
    a, b = _kernel(low, r), _kernel(high, r)
    da, db = _diff(a), _diff(b)
    return (da @ da) * (a @ a) ** 2 - 2 * (da @ db) * (a @ b) ** 2 + (db @ db) * (b @ b) ** 2


# ----------------------------------------------------------------------------------------------------------------------
# Filters (scipy semantics, as Filters/GaussianFilter.cs, UniformFilter.cs, GaussianGradientMagnitude.cs); a volume
# with one section is filtered in 2D.

def _gaussian(x, sigma):
    if x.shape[0] == 1:
        return ndi.gaussian_filter(x[0], sigma)[None]
    return ndi.gaussian_filter(x, sigma)


def _uniform(x, size):
    """Box mean of ``size`` voxels per axis (one section: in-plane only)."""
    if x.shape[0] == 1:
        return ndi.uniform_filter(x[0], size)[None]
    return ndi.uniform_filter(x, size)


def _gradient_magnitude(x, sigma):
    if x.shape[0] == 1:
        return ndi.gaussian_gradient_magnitude(x[0], sigma)[None]
    return ndi.gaussian_gradient_magnitude(x, sigma)


# ----------------------------------------------------------------------------------------------------------------------
# Inference/VolumeResampling.cs

def mean_downsample(x, factor):
    """Mean over factor^3 blocks (one section: factor^2); partial blocks at the far edges average what they hold."""
    if factor == 1:
        return x
    shape = x.shape
    out = tuple(-(-s // factor) for s in shape)
    fz = 1 if shape[0] == 1 else factor
    padded = np.zeros((out[0] * fz, out[1] * factor, out[2] * factor))
    padded[:shape[0], :shape[1], :shape[2]] = x
    sums = padded.reshape(out[0], fz, out[1], factor, out[2], factor).sum(axis=(1, 3, 5))
    counts = [np.minimum((np.arange(o) + 1) * f, s) - np.arange(o) * f for o, f, s in zip(out, (fz, factor, factor), shape)]
    count = counts[0][:, None, None] * counts[1][None, :, None] * counts[2][None, None, :]
    return (sums / count).astype(F32)


def _taps(target, small, factor):
    src = np.clip((np.arange(target) + 0.5) / factor - 0.5, 0, small - 1)
    lo = np.floor(src).astype(np.intp)
    return lo, np.minimum(lo + 1, small - 1), (src - lo).astype(F32)


def trilinear_upsample(small, shape, factor):
    """Trilinear interpolation onto ``shape``, voxel centres aligned (align_corners=False); x, then y, then z."""
    z0, z1, wz = _taps(shape[0], small.shape[0], factor)
    y0, y1, wy = _taps(shape[1], small.shape[1], factor)
    x0, x1, wx = _taps(shape[2], small.shape[2], factor)
    a = small[:, :, x0] + (small[:, :, x1] - small[:, :, x0]) * wx
    b = a[:, y0] + (a[:, y1] - a[:, y0]) * wy[:, None]
    return b[z0] + (b[z1] - b[z0]) * wz[:, None, None]


# ----------------------------------------------------------------------------------------------------------------------
# Masking/StructureTensor.cs and Masking/SymmetricEigen.cs

def _gradient(x, axis, scale):
    """numpy.gradient along ``axis`` times ``scale``, written as the C# does: (after - before) * (0.5 * scale)."""
    n = x.shape[axis]
    if n == 1:
        return np.zeros_like(x)
    g = np.empty_like(x)
    take = lambda s: tuple(s if a == axis else slice(None) for a in range(x.ndim))  # noqa: E731
    if n > 2:
        g[take(slice(1, -1))] = (x[take(slice(2, None))] - x[take(slice(None, -2))]) * F32(0.5 * scale)
    g[take(slice(0, 1))] = (x[take(slice(1, 2))] - x[take(slice(0, 1))]) * F32(scale)
    g[take(slice(-1, None))] = (x[take(slice(-1, None))] - x[take(slice(-2, -1))]) * F32(scale)
    return g


def _acos(x):
    """SymmetricEigen.Acos: Cephes acosf (asin polynomial on |x| <= 1/2, half-angle form above)."""
    ax = np.abs(x)
    big = ax > F32(0.5)
    z = np.where(big, (F32(1) - ax) * F32(0.5), x * x)
    s = np.where(big, np.sqrt(z), x)
    poly = F32(4.2163199048e-2)
    for coefficient in (2.4181311049e-2, 4.5470025998e-2, 7.4953002686e-2, 1.6666752422e-1):
        poly = poly * z + F32(coefficient)
    asin = s * z * poly + s
    twice = asin + asin
    large = np.where(x < 0, F32(np.pi) - twice, twice)
    return np.where(big, large, F32(np.pi / 2) - asin)


def _cos_near_zero(psi):
    """SymmetricEigen.CosNearZero: Taylor series of cos to the psi^10 term."""
    y = psi * psi
    c = F32(-1 / 3628800)
    for coefficient in (1 / 40320, -1 / 720, 1 / 24, -0.5, 1.0):
        c = c * y + F32(coefficient)
    return c


def _penalise(smallest, largest, isotropy):
    """lambda_min * min(1, lambda_min / (rho0 * lambda_max))^3, negative round-off -> 0 (SymmetricEigen.Penalise)."""
    lo = np.maximum(smallest, F32(0))
    m = np.minimum(F32(1), lo / np.maximum(largest * F32(isotropy), F32(1e-30)))
    return lo * (m * m * m)


def smallest_eigenvalue(a, b, c, d, e, f, isotropy=0.0):
    """lambda_min of [[a, d, e], [d, b, f], [e, f, c]] per voxel (SymmetricEigen.Smallest, float32)."""
    q = (a + b + c) * F32(1 / 3)
    a, b, c = a - q, b - q, c - q
    p2 = (d * d + e * e + f * f) * F32(2)
    p2 = a * a + p2
    p2 = b * b + p2
    p2 = c * c + p2
    p2 = np.maximum(p2 * F32(1 / 6), F32(1e-30))
    p = np.sqrt(p2)
    det = a * (b * c - f * f)
    det -= d * (d * c - f * e)
    det = e * (d * f - b * e) + det
    r = np.clip(det / (F32(2) * p2 * p), F32(-1), F32(1))
    theta = _acos(r) * F32(1 / 3)
    two_p = F32(2) * p
    smallest = q - two_p * _cos_near_zero(F32(np.pi / 3) - theta)
    if isotropy <= 0:
        return smallest
    return _penalise(smallest, q + two_p * _cos_near_zero(theta), isotropy)


def _smallest_eigenvalue_2d(a, b, c, isotropy):
    """lambda_min of [[a, c], [c, b]] (StructureTensor.Eigen2)."""
    h = (a - b) * F32(0.5)
    root = np.sqrt(c * c + h * h)
    mean = (a + b) * F32(0.5)
    if isotropy <= 0:
        return mean - root
    return _penalise(mean - root, mean + root, isotropy)


def log_ratio(d, s, d_scale, s_scale, texture_sigma, offset, isotropy):
    """1/2 log max(lambda_min, 1e-20) + offset of G(texture_sigma) (grad d grad d^T + grad s grad s^T)."""
    if d.shape[0] == 1:
        gd = [_gradient(d[0], axis, d_scale) for axis in (0, 1)]
        gs = [_gradient(s[0], axis, s_scale) for axis in (0, 1)]
        j = [ndi.gaussian_filter(gd[i] * gd[k] + gs[i] * gs[k], texture_sigma) for i, k in ((0, 0), (1, 1), (0, 1))]
        lam = _smallest_eigenvalue_2d(*j, isotropy)[None]
    else:
        gd = [_gradient(d, axis, d_scale) for axis in (0, 1, 2)]
        gs = [_gradient(s, axis, s_scale) for axis in (0, 1, 2)]
        j = []
        for i, k in ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)):  # J_zz, J_yy, J_xx, J_zy, J_zx, J_yx
            j.append(ndi.gaussian_filter(gd[i] * gd[k] + gs[i] * gs[k], texture_sigma))
        del gd, gs
        lam = smallest_eigenvalue(*j, isotropy=isotropy)
    lam = np.log(np.maximum(lam, F32(1e-20)))
    lam *= F32(0.5)
    lam += F32(offset)
    return lam


# ----------------------------------------------------------------------------------------------------------------------
# Masking/TexturePyramid.cs

def highest_level(shape, planar):
    """The highest level whose in-plane axes keep >= 24 voxels (and z, in 3D, >= 8)."""
    level = 0
    while level < MAXIMUM_LEVEL:
        f = 1 << (level + 1)
        if shape[1] // f < 24 or shape[2] // f < 24 or (not planar and shape[0] // f < 8):
            break
        level += 1
    return level


def texture(image, options, log_reference):
    """(log ratio, smoothed image) at one level (TexturePyramid.Measure)."""
    low, high, edge = options["dog_sigma_low"], options["dog_sigma_high"], options["edge_sigma"]
    smoothed = _gaussian(image, low)
    band = smoothed - _gaussian(image, high)
    if edge != low:
        smoothed = _gaussian(image, edge)
    d_scale = F32(1.0 / math.sqrt(dog_gradient_gain(low, high)))
    s_scale = F32(1.0 / math.sqrt(gradient_gain(edge)))
    ratio = log_ratio(band, smoothed, d_scale, s_scale, options["texture_sigma"], F32(-0.5 * log_reference),
                      options["isotropy"])
    return ratio, smoothed


_UNIT_NOISE = {}


def _unit_noise(size):
    """SplitMix64 + Box-Muller from NOISE_SEED: r, cos(2 pi u2), sin(2 pi u2) per pair (cached per length)."""
    if size not in _UNIT_NOISE:
        pairs = (size + 1) // 2
        with np.errstate(over="ignore"):
            state = np.uint64(NOISE_SEED) + np.arange(1, 2 * pairs + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
            z = (state ^ (state >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z ^= z >> np.uint64(31)
        u = (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
        r = np.sqrt(-2.0 * np.log(1.0 - u[0::2]))
        _UNIT_NOISE[size] = (r, np.cos(2 * np.pi * u[1::2]), np.sin(2 * np.pi * u[1::2]))
    return _UNIT_NOISE[size]


def simulate_noise(shape, sigma, correlation):
    """White Gaussian noise of ``sigma`` blurred in-plane by ``correlation`` (TexturePyramid.Simulate)."""
    size = int(np.prod(shape))
    r, cos, sin = _unit_noise(size)
    scaled = sigma * r
    v = np.empty(2 * r.size, F32)
    v[0::2] = scaled * cos
    v[1::2] = scaled * sin
    v = v[:size].reshape(shape)
    if correlation >= 0.05:
        v = ndi.gaussian_filter(v, (0, correlation, correlation))
    return v


_UNIT_REFERENCES = {}
CORRELATION_STEP = 0.025  # TexturePyramid.CorrelationStep


def noise_reference(noise, level, planar, options):
    """log lambda_noise: the unit-sigma reference for the correlation rounded to 0.025 (cached) + 2 log sigma."""
    sigma, c = noise
    c = round(c / CORRELATION_STEP) * CORRELATION_STEP
    key = (c, level, planar, options["dog_sigma_low"], options["dog_sigma_high"], options["edge_sigma"],
           options["texture_sigma"], options["isotropy"])
    if key not in _UNIT_REFERENCES:
        _UNIT_REFERENCES[key] = _simulated_reference((1.0, c), level, planar, options)
    return _UNIT_REFERENCES[key] + 2.0 * float(np.log(sigma))


def _simulated_reference(noise, level, planar, options):
    """Twice the median 1/2 log lambda of a simulated noise volume (2D 512^2, 3D 64 x 128^2)."""
    shape = (1, 512, 512) if planar else (64, 128, 128)
    image = mean_downsample(simulate_noise(shape, *noise), 1 << level)
    half, _ = texture(image, options, 0.0)
    nz, ny, nx = image.shape
    margin = 4
    zm = 0 if planar else min(margin, nz // 4)
    values = half[zm:(1 if planar else nz - zm), margin:ny - margin, margin:nx - margin]
    return 2.0 * float(_median(values.reshape(-1)))


# ----------------------------------------------------------------------------------------------------------------------
# Masking/ValueHistogram.cs, OtsuThreshold.cs, ValleyThreshold.cs

def _histogram(values, bins=256):
    """(counts, min, bin width) of the finite values; counts None when they span no range."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None, np.inf, 0.0
    lo, hi = values.min(), values.max()
    if not hi > lo:
        return None, float(lo), 0.0
    span = hi - lo  # float32, as the C# subtracts two floats
    index = np.minimum(((values - lo).astype(np.float64) * (bins / float(span))).astype(np.int64), bins - 1)
    return np.bincount(index, minlength=bins).astype(np.float64), float(lo), float(span) / bins


def otsu(counts, lo, width):
    """Otsu's threshold (upper edge of the lower class's last bin) and separability eta (OtsuThreshold.Compute)."""
    if counts is None:
        return (lo if math.isfinite(lo) else 0.0), 0.0
    bins = counts.size
    centre = lo + (np.arange(bins) + 0.5) * width
    total, total_sum = 0.0, 0.0
    squares = 0.0
    for i in range(bins):
        total += counts[i]
        total_sum += counts[i] * centre[i]
        squares += counts[i] * centre[i] * centre[i]
    mean = total_sum / total
    variance = squares / total - mean * mean
    w0 = m0 = 0.0
    best, best_bin = -1.0, 0
    for i in range(bins - 1):
        w0 += counts[i]
        m0 += counts[i] * centre[i]
        w1 = total - w0
        if w0 == 0 or w1 == 0:
            continue
        mu0, mu1 = m0 / w0, (total_sum - m0) / w1
        between = w0 * w1 * (mu0 - mu1) * (mu0 - mu1) / (total * total)
        if between > best:
            best, best_bin = between, i
    return lo + (best_bin + 1) * width, (min(max(best / variance, 0.0), 1.0) if variance > 0 else 0.0)


def separability_at(values, threshold):
    """Otsu's eta of the split at ``threshold``: bins whose centre lies below it form the lower class
    (OtsuThreshold.SeparabilityAt); 0 where a class is empty."""
    counts, lo, width = _histogram(values)
    if counts is None:
        return 0.0
    centre = lo + (np.arange(counts.size) + 0.5) * width
    total = total_sum = squares = w0 = m0 = 0.0
    for i in range(counts.size):
        total += counts[i]
        total_sum += counts[i] * centre[i]
        squares += counts[i] * centre[i] * centre[i]
        if centre[i] < threshold:
            w0 += counts[i]
            m0 += counts[i] * centre[i]
    w1 = total - w0
    variance = squares / total - (total_sum / total) * (total_sum / total)
    if w0 == 0 or w1 == 0 or not variance > 0:
        return 0.0
    mu0, mu1 = m0 / w0, (total_sum - m0) / w1
    return min(max(w0 * w1 * (mu0 - mu1) * (mu0 - mu1) / (total * total) / variance, 0.0), 1.0)


def _smooth_histogram(h, sigma=2.0):
    """gaussian_filter1d(mode='reflect', truncate=4), accumulated as ValleyThreshold.Smooth."""
    r = int(4.0 * sigma + 0.5)
    k = np.arange(-r, r + 1)
    kernel = np.exp(-0.5 * k * k / (sigma * sigma))
    n = h.size
    j = np.arange(n)[:, None] + k[None, :]
    j = np.where(j < 0, -j - 1, np.where(j >= n, 2 * n - j - 1, j))
    acc = np.zeros(n)
    total = 0.0
    for t in range(k.size):
        acc += kernel[t] * h[j[:, t]]
        total += kernel[t]
    return acc / total


def valley_threshold(values):
    """The smoothed histogram's lowest bin between Otsu's class means, and Otsu's eta (ValleyThreshold.Compute)."""
    counts, lo, width = _histogram(values)
    t0, eta = otsu(counts, lo, width)
    if counts is None:
        return t0, eta
    centre = lo + (np.arange(counts.size) + 0.5) * width
    low_sum = low_count = high_sum = high_count = 0.0
    for i in range(counts.size):
        if centre[i] < t0:
            low_sum += counts[i] * centre[i]
            low_count += counts[i]
        else:
            high_sum += counts[i] * centre[i]
            high_count += counts[i]
    if low_count == 0 or high_count == 0:
        return t0, eta
    low_mean, high_mean = low_sum / low_count, high_sum / high_count
    smoothed = _smooth_histogram(counts)
    between = np.flatnonzero((centre > low_mean) & (centre < high_mean))
    if between.size == 0:
        return t0, eta
    return float(centre[between[np.argmin(smoothed[between])]]), eta


# ----------------------------------------------------------------------------------------------------------------------
# Masking/StainRule.cs

def rule_sample(ratio, smoothed, valid):
    """The regular sample (<= 2**16 valid voxels) both rules are measured on: log ratio and smoothed image (StainRule.Sample.Draw)."""
    step = sample_stride(ratio.size, STAIN_SAMPLE_LIMIT, ratio.shape[-1])
    r, s = ratio.reshape(-1)[::step], smoothed.reshape(-1)[::step]
    if valid is not None:
        ok = valid.reshape(-1)[::step]
        r, s = r[ok], s[ok]
    return r, s


def stain_reference(ratio, log_threshold, smoothed, valid):
    """(tissue median, resin median, tissue spread) of the smoothed image on a <= 2**16 sample, or None."""
    r, s = rule_sample(ratio, smoothed, valid)
    is_tissue = r >= F32(log_threshold)
    return stain_reference_of(s[is_tissue], s[~is_tissue], r.size)


def stain_reference_of(tissue, resin, total):
    """(tissue median, resin median, tissue spread) of the two classes' samples, or None (StainRule.FromClasses)."""
    minimum = max(1, int(MINIMUM_CLASS_SHARE * total))
    if tissue.size < minimum or resin.size < minimum:
        return None
    mt, mr = _median(tissue), _median(resin)
    spread = F32(1.4826) * _median(np.abs(tissue - mt))
    if not spread > 0 or abs(float(mt - mr)) < MINIMUM_SEPARATION * float(spread):
        return None
    return mt, mr, spread


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return F32(1) / (F32(1) + np.exp(-x))


def raise_votes(vote, smoothed, reference, threshold, walls=None):
    """vote = max(vote, sigmoid((z - k) / 0.25)), z the stain score away from resin (StainRule.RaiseVotes); not on walls."""
    mt, mr, spread = reference
    scale = (F32(1) if mt >= mr else F32(-1)) / spread
    a = scale / F32(STAIN_SOFTNESS)
    b = F32(-(float(scale * mt) + threshold) / STAIN_SOFTNESS)
    raised = _sigmoid(smoothed * a + b)
    if walls is not None:
        raised[walls] = 0
    np.maximum(vote, raised, out=vote)


# ----------------------------------------------------------------------------------------------------------------------
# Masking/ResinRule.cs

def resin_reference(ratio, log_threshold, smoothed, valid, stain, window):
    """(resin median, resin spread, window, texture ceiling) on the stain rule's sample, or None; where the lower class
    shows no resin peak, measured again on the class's more untextured half (ResinRule.Measure)."""
    if not window > 0:
        return None
    reference = _resin_reference_of_class(ratio, log_threshold, smoothed, valid, stain, window)
    if reference is not None:
        return reference
    r, _ = rule_sample(ratio, smoothed, valid)
    low = r[r < F32(log_threshold)]
    if low.size == 0:
        return None
    half = _median(low)  # ResinRule.UntexturedHalf
    if not half < F32(log_threshold):
        return None
    return _resin_reference_of_class(ratio, float(half), smoothed, valid, stain, window)


def _resin_reference_of_class(ratio, log_threshold, smoothed, valid, stain, window):
    """The measure on one class, the voxels with log ratio under ``log_threshold``, of the rules' sample; window > 0."""
    r, s = rule_sample(ratio, smoothed, valid)
    return _resin_reference_of_sample(r, s, r, log_threshold, stain, window)


def _resin_reference_of_sample(r, s, real, log_threshold, stain, window):
    """The measure on one class of a sample (ResinRule.MeasureClass): its log ratios ``r`` (the class: under
    ``log_threshold``) and smoothed intensities ``s``; the texture ceiling is read from ``real``, the sample's real
    log ratios (``r`` itself, or the texture of a sample labelled by intensity classes); window > 0."""
    mt, mr, _ = stain
    low = s[r < F32(log_threshold)]
    if low.size == 0 or low.size < RESIN_MINIMUM_SHARE * r.size:
        return None

    def far_spread(mr):
        # The far side of the resin's peak from the tissue only (pale tissue in the class lies on the near side).
        far = low[(low - mr) * (mr - mt) > 0]
        return F32(1.4826) * _median(np.abs((far if far.size else low) - mr))

    spread = _two_sided_spread(low, mr)
    if not _is_distinct(mt, mr, spread):
        # Not separate by the class's two-sided spread: measure the resin's peak (far side, re-centred), whose own
        # voxels must then hold the minimum share.
        spread = far_spread(mr)
        for _ in range(RESIN_PEAK_ITERATIONS):
            near = low[np.abs(low - mr) <= 2 * spread]
            if near.size == 0:
                break
            mr = _median(near)
            spread = far_spread(mr)
        if np.count_nonzero(np.abs(low - mr) <= 2 * spread) < RESIN_MINIMUM_SHARE * r.size:
            return None
    if not _is_distinct(mt, mr, spread):
        return None
    w = F32(window)
    d = np.abs(s - mr)
    inside = real[(d < w * spread) & (d < np.abs(s - mt))]
    if inside.size == 0:
        return None
    k = min(max(int(RESIN_TEXTURE_QUANTILE * (inside.size - 1)), 0), inside.size - 1)
    return mr, spread, w, _nth(inside, k)


def _two_sided_spread(values, median):
    """1.4826 * median |v - median| (ResinRule.TwoSidedSpread)."""
    return F32(1.4826) * _median(np.abs(values - median))


def _is_distinct(mt, mr, spread):
    """Resin a distinct flat material: at least 8 spreads from the tissue (ResinRule.IsDistinct)."""
    return spread > 0 and abs(float(mt - mr)) >= RESIN_MINIMUM_SEPARATION * float(spread)


def at_resin_intensity(smoothed, resin, valid):
    """Valid voxels at the resin's intensity, |s - m_r| <= W * sigma_r, texture ignored (ResinRule.AtResinIntensity)."""
    mr, spread, w, _ = resin
    out = np.abs(smoothed - mr) <= F32(w * spread)
    return out if valid is None else out & valid


def resin_weight(ratio, smoothed, resin, stain, valid, planar):
    """w = sigmoid((W - |s - m_r|/sigma_r)/0.25) * sigmoid((halfway - z)/0.25) * sigmoid((rho - log r)/0.25), then its
    minimum over the 3-box (3x3 in a section) (ResinRule.Weight)."""
    mr, spread, w, ceiling = resin
    mt, stain_mr, tissue_spread = stain  # the stain score and its halfway use the classes' medians, not the resin's peak
    scale = (F32(1) if mt >= stain_mr else F32(-1)) / tissue_spread
    halfway = F32(-0.5) * abs(scale * (stain_mr - mt))
    k = F32(1) / F32(RESIN_SOFTNESS)
    f = _sigmoid(np.abs(smoothed - mr) * (-(F32(1) / spread) * k) + w * k)
    g = _sigmoid(smoothed * (-scale * k) + (scale * mt + halfway) * k)
    h = _sigmoid(ratio * (-k) + ceiling * k)
    out = (f * g * h).astype(F32)
    if valid is not None:
        out[~valid] = 0
    return ndi.minimum_filter(out, size=(1, 3, 3) if planar else 3, mode="nearest")


# ----------------------------------------------------------------------------------------------------------------------
# Masking/TracheaRule.cs

def _enclosed(stained, gap, axis):
    """Unstained voxels in a run of at most ``gap`` unstained voxels with a stained voxel at each end along ``axis``."""
    n = stained.shape[axis]
    shape = [1] * stained.ndim
    shape[axis] = n
    index = np.arange(n).reshape(shape)
    previous = np.maximum.accumulate(np.where(stained, index, -1), axis=axis)
    following = np.flip(np.minimum.accumulate(np.flip(np.where(stained, index, n), axis=axis), axis=axis), axis=axis)
    return ~stained & (previous >= 0) & (following < n) & (following - previous - 1 <= gap)


def trachea_rule(vote, smoothed, reference, threshold, gap, planar):
    """Lumen (unstained, enclosed along two axes, texture vote < 0.5, nearer the resin's stain than the tissue's) -> vote 0; stained voxels within ``gap`` of a
    lumen (the wall) -> vote scaled by sigmoid((k - z) / 0.25). Returns the wall, or None when there is no lumen."""
    mt, mr, spread = reference
    scale = (F32(1) if mt >= mr else F32(-1)) / spread
    z = scale * (smoothed - mt)
    stained = z > threshold
    axes = (1, 2) if planar or stained.shape[0] == 1 else (0, 1, 2)
    counts = sum(_enclosed(stained, gap, a).astype(np.uint8) for a in axes)
    resin_side = F32(-0.5) * abs(scale * (mr - mt))  # halfway from the tissue's stain to the resin's
    lumen = (counts >= 2) & (vote < F32(0.5)) & (z < resin_side)
    if not lumen.any():
        return None
    vote[lumen] = 0
    size = (1 if planar else 2 * gap + 1, 2 * gap + 1, 2 * gap + 1)
    walls = ndi.maximum_filter(lumen, size=size, mode="constant", cval=False) & stained
    a = -scale / F32(STAIN_SOFTNESS)
    b = F32((threshold + float(scale * mt)) / STAIN_SOFTNESS)
    vote[walls] *= _sigmoid(a * smoothed[walls] + b)
    return walls


# ----------------------------------------------------------------------------------------------------------------------
# Morphology/MaskMorphology.cs

def fill_holes(mask, per_slice, keep_open=None, minimum_marked=1):
    """Background not connected (face connectivity) to the border becomes 1; per z section when ``per_slice``. A hole
    holding at least ``minimum_marked`` voxels of ``keep_open`` stays open."""
    def fill(m, keep):
        filled = ndi.binary_fill_holes(m)
        if keep is not None:
            holes, count = ndi.label(filled & ~m)  # face connectivity
            if count:
                marked = np.bincount(holes[keep], minlength=count + 1)
                filled[np.isin(holes, np.flatnonzero(marked >= minimum_marked)) & (holes > 0)] = False
        return filled

    if per_slice:
        for z in range(mask.shape[0]):
            mask[z] = fill(mask[z], None if keep_open is None else keep_open[z])
    else:
        mask[...] = fill(mask, keep_open)


def fill_unmarked(mask, marks, minimum_marked):
    """Per z section, every background component (face connectivity) holding fewer than ``minimum_marked`` voxels of
    ``marks`` becomes 1, at the border too (MaskMorphology.FillUnmarked)."""
    for z in range(mask.shape[0]):
        background, count = ndi.label(~mask[z])
        if count:
            marked = np.bincount(background[marks[z]], minlength=count + 1)
            mask[z] |= np.isin(background, np.flatnonzero(marked < minimum_marked)) & (background > 0)


def minimum_region_for(minimum, voxels):
    """The region size below which tissue is removed in an image of ``voxels`` (ClassicalMaskOptions.MinimumRegionFor)."""
    return min(minimum, math.ceil(REGION_SHARE_KEPT * voxels))


def remove_small_regions(mask, minimum):
    """Clears face-connected components smaller than ``minimum`` voxels (one section: 4-connected)."""
    if minimum <= 1:
        return
    labels, count = (ndi.label(mask[0]) if mask.shape[0] == 1 else ndi.label(mask))
    if count == 0:
        return
    small = np.bincount(labels.reshape(-1)) < minimum
    small[0] = False
    mask[small[labels.reshape(mask.shape)]] = False


# ----------------------------------------------------------------------------------------------------------------------
# Morphology/SeededWatershed.cs

def seeded_watershed(relief, labels, valid):
    """Meyer flooding from the markers (labels > 0): 1024 quantised levels, first in first out per level, a voxel's
    priority max(current level, its own), face connectivity; ``labels`` is filled in place where ``valid``."""
    finite = relief[np.isfinite(relief)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (F32(np.inf), F32(-np.inf))
    scale = F32(WATERSHED_LEVELS - 1) / F32(hi - lo) if hi > lo else F32(0)
    with np.errstate(invalid="ignore"):
        level = np.clip(((relief - lo) * scale), 0, WATERSHED_LEVELS - 1)
    level = np.where(np.isfinite(relief), level, WATERSHED_LEVELS - 1).astype(np.int32)  # truncation as (int)
    # Padded by one blocked voxel on every side, so that neighbours need no bounds checks.
    planar = relief.shape[0] == 1
    pad = ((0, 0), (1, 1), (1, 1)) if planar else ((1, 1), (1, 1), (1, 1))
    ok = np.ones(relief.shape, bool) if valid is None else valid.astype(bool)
    free = np.pad((labels == 0) & ok, pad)
    marked = np.pad((labels != 0) & ok, pad)
    nz, ny, nx = free.shape
    offsets = [-1, 1, -nx, nx] + ([] if planar else [-ny * nx, ny * nx])  # x-1, x+1, y-1, y+1, z-1, z+1
    # Markers with no free neighbour change nothing when popped: only the others are queued (in index order).
    near = np.zeros_like(free)
    flat_free = free.reshape(-1)
    for off in offsets:
        if off > 0:
            near.reshape(-1)[:-off] |= flat_free[off:]
        else:
            near.reshape(-1)[-off:] |= flat_free[:off]
    seeds = np.flatnonzero(marked & near)
    lev = np.pad(level, pad).reshape(-1)
    lab = bytearray(np.pad(labels, pad).reshape(-1).tobytes())
    free_b = bytearray(flat_free.tobytes())
    buckets = [[] for _ in range(WATERSHED_LEVELS)]
    seed_levels = lev[seeds]
    for b in np.unique(seed_levels):
        buckets[b] = seeds[seed_levels == b].tolist()
    lev = lev.tolist()
    for current in range(WATERSHED_LEVELS):
        queue = buckets[current]
        k = 0
        while k < len(queue):
            i = queue[k]
            k += 1
            label = lab[i]
            for off in offsets:
                j = i + off
                if free_b[j]:
                    free_b[j] = 0
                    lab[j] = label
                    lj = lev[j]
                    (buckets[lj] if lj > current else queue).append(j)
        buckets[current] = None
    out = np.frombuffer(bytes(lab), np.uint8).reshape(free.shape)
    labels[...] = out[(slice(None) if planar else slice(1, -1)), 1:-1, 1:-1]


# ----------------------------------------------------------------------------------------------------------------------
# Masking/BoundaryRefinement.cs

TILE = 128  # refinement tile edge, every level


def _flood_reach(level):
    return int(math.ceil(halo_voxels(level) + OUTSIDE_MARGIN)) + 2


def _gradient_radius(level):
    return int(4.0 * max(1.0, GRADIENT_LEVEL_VOXELS * (1 << level)) + 0.5) + 1


def resin_trim_measure(image, markers, valid):
    """(smoothed image, resin median, robust spread) over the resin markers, or None (ResinIntensity.Measure)."""
    smoothed = _gaussian(image, RESIN_TRIM_SIGMA)
    values = smoothed[markers if valid is None else markers & valid]
    if values.size == 0:
        return None
    median = _median(values)
    spread = F32(1.4826 * float(_median(np.abs(values - median))))
    return (smoothed, median, spread) if spread > 0 else None


def resin_like(smoothed, trim):
    """Whether smoothed intensities count as resin: within RESIN_TRIM_WINDOW robust spreads of the resin's
    (ResinTrim.IsResinLike)."""
    _, median, spread = trim
    return np.abs(smoothed - median) <= F32(RESIN_TRIM_WINDOW * float(spread))


def resin_trim(mask, coarse, trim):
    """Voxels the refinement turned from tissue to non-brain go back to tissue unless their intensity lies within
    RESIN_TRIM_WINDOW robust spreads of the resin's (ResinTrim.Restore)."""
    mask |= coarse & ~mask & ~resin_like(trim[0], trim)


def fine_resin_markers(image, markers, valid, trim, minimum):
    """The markers plus flat voxels at the resin's intensity in regions of at least ``minimum`` (FineResinMarkers.Add)."""
    smoothed, median, spread = trim
    local = _gaussian(image, RESIN_FLATNESS_SIGMA)
    local = _gaussian(((image - local) ** 2).astype(F32), RESIN_FLATNESS_SIGMA)
    local = np.sqrt(np.maximum(local, F32(0)))
    on = local[markers if valid is None else markers & valid]
    flat = _nth(on, int(RESIN_FLATNESS_QUANTILE * (on.size - 1)))
    fine = (np.abs(smoothed - median) <= F32(RESIN_MARKER_WINDOW * float(spread))) & (local <= flat)
    if valid is not None:
        fine &= valid
    remove_small_regions(fine, minimum)
    return fine | markers


def halo_voxels(level):
    """Tissue markers lie deeper than this (full-resolution voxels; BoundaryRefinement.HaloVoxels)."""
    return FULL_RESOLUTION_HALO if level == 0 else HALO_LEVEL_VOXELS * (1 << level)


def refine_boundary(mask, image, valid, level, resin=None, trim=None):
    """Re-decides the boundary band by a marker-controlled watershed on the gradient magnitude, in fixed tiles of
    TILE voxels: each tile floods its core plus _flood_reach voxels of context (gradient from _gradient_radius more) and
    writes only its core, so a tile never depends on anything further away. Where the section's resin is known
    (``trim``), a voxel outside within the halo is a resin marker only at the resin's intensity (RESIN_TRIM_WINDOW robust
    spreads). False when no tile changed anything."""
    before = mask.copy()
    flood, reach = _flood_reach(level), _flood_reach(level) + _gradient_radius(level)
    changed = False
    for tz in range(0, mask.shape[0], TILE):
        for ty in range(0, mask.shape[1], TILE):
            for tx in range(0, mask.shape[2], TILE):
                core = [(tz, min(tz + TILE, mask.shape[0])), (ty, min(ty + TILE, mask.shape[1])), (tx, min(tx + TILE, mask.shape[2]))]
                window = tuple(slice(max(0, a - flood), min(n, b + flood)) for (a, b), n in zip(core, mask.shape))
                context = tuple(slice(max(0, a - reach), min(n, b + reach)) for (a, b), n in zip(core, mask.shape))
                labels = _refine_tile(before[window], image, valid, level, window, context,
                                      None if resin is None else resin[window], trim)
                if labels is None:
                    continue
                inner = tuple(slice(a - w.start, b - w.start) for (a, b), w in zip(core, window))
                target = tuple(slice(a, b) for a, b in core)
                mask[target] = labels[inner] == 2
                changed = True
    return changed


def _refine_tile(m, image, valid, level, window, context, resin=None, trim=None):
    factor = 1 << level
    if not m.any() or (m.all() and (resin is None or not resin.any())):
        return None  # no tissue marker or no non-brain marker
    squeeze = (lambda x: x[0]) if m.shape[0] == 1 else (lambda x: x)
    depth = ndi.distance_transform_edt(squeeze(m)).reshape(m.shape)  # inside: distance to the nearest 0
    outside = ndi.distance_transform_edt(squeeze(~m)).reshape(m.shape)
    ok = np.ones(m.shape, bool) if valid is None else valid[window]
    labels = np.zeros(m.shape, np.uint8)
    labels[m & (depth > halo_voxels(level)) & ok] = 2
    out = ~m & (outside > OUTSIDE_MARGIN) & ok
    if trim is not None:  # within the halo, only resin-like voxels (BoundaryRefinement.RefineTile)
        out &= resin_like(trim[0][window], trim) | (outside > halo_voxels(level))
    labels[out] = 1
    if resin is not None:
        labels[resin & ok] = 1  # flat material at the resin's intensity: resin, however deep in the coarse mask
    if not (labels == 2).any() or not (labels == 1).any():
        return None
    relief = _gradient_magnitude(image[context], max(1.0, GRADIENT_LEVEL_VOXELS * factor))
    relief = relief[tuple(slice(w.start - c.start, w.stop - c.start) for w, c in zip(window, context))]
    seeded_watershed(np.ascontiguousarray(relief), labels, None if valid is None else np.ascontiguousarray(valid[window]))
    return labels


# ----------------------------------------------------------------------------------------------------------------------
# ClassicalMasker.cs: LevelMaps, RunVolume, Run

@dataclass
class LevelMaps:
    level: int
    ratio: np.ndarray
    smoothed: np.ndarray
    valid: np.ndarray | None  # blocks whose voxels are all valid
    fraction: np.ndarray | None  # the same as 0/1 float (for pooling)
    separates: bool
    separability: float
    valley: float
    clarity: float  # eta at the threshold this level would use (LevelMaps.Clarity)
    textured: bool
    noise_coherent: bool = False  # a weak split of plain noise in one large region, separating if the next level confirms it
    lower_coherent_measure: object = None  # () -> bool, run on first use (LevelMaps.LowerCoherentMeasure)

    @property
    def lower_coherent(self):
        """A section of at least 128^2 whose lower class (under its own valley) is one large region."""
        return bool(self.lower_coherent_measure and self.lower_coherent_measure())


def without_flat(sample):
    """TexturePyramid.WithoutFlat: the sample without its exactly flat pixels (ratio < 0.05); itself if nothing else."""
    kept = sample[sample >= F32(math.log(FLAT_RATIO))]
    return sample if kept.size in (0, sample.size) else kept


def largest_lower_region_share(ratio, ok, valley, block):
    """TexturePyramid.LargestLowerRegionShare: the largest 4-connected region of the lower class (valid pixels under the
    valley, pooled over a block x block box by majority), as a share of the section's valid pixels."""
    return lower_region_shares(ratio, ok, valley, block)[0]


def lower_region_shares(ratio, ok, valley, block):
    """TexturePyramid.LowerRegionShares: (largest region's share, the whole pooled lower class's share)."""
    if ratio.shape[0] != 1:
        return 0.0, 0.0
    valid = np.ones(ratio.shape, bool) if ok is None else ok.astype(bool)
    count = int(np.count_nonzero(valid))
    if count == 0:
        return 0.0, 0.0
    lower = ((ratio.astype(np.float64) < valley) & valid).astype(F32)
    majority = _uniform(lower, block) > 0.5
    labels, k = ndi.label(majority[0])
    if k == 0:
        return 0.0, 0.0
    return float(np.bincount(labels.ravel())[1:].max()) / count, float(np.count_nonzero(majority & valid)) / count


def intensity_side_coherent(shares):
    """IntensityClasses.IsCoherent: the largest region covers a quarter of the section, or at least 10 % of it and
    half of the side's own pooled share."""
    largest, total = shares
    return largest >= COHERENT_REGION_SHARE or (largest >= INTENSITY_MINIMUM_REGION_SHARE
                                                and largest >= INTENSITY_MINIMUM_REGION_PART * total)


def level_maps(n, valid, level, noise, planar, options):
    """The texture at one pyramid level and what it says: do resin and tissue separate, is the texture clear."""
    factor = 1 << level
    image = mean_downsample(n, factor)
    ok = fraction = None
    if valid is not None:
        whole = mean_downsample(valid.astype(F32), factor) >= F32(0.99)
        ok, fraction = whole, whole.astype(F32)
    reference = noise_reference(noise, level, planar, options)
    ratio, smoothed = texture(image, options, reference)
    sample = _sample(ratio, ok, THRESHOLD_SAMPLE_LIMIT)
    if level == 0:
        sample = without_flat(sample)  # exactly flat pixels leave level 0's statistics (TexturePyramid.FlatRatio)
    valley, eta = valley_threshold(sample)
    lower = sample[sample.astype(np.float64) < valley]  # compared in double, as the C#
    low_median = float(_median(lower)) if lower.size else math.inf
    # a split that parts exactly flat pixels from the rest is no separation; it may only confirm a finer level's split,
    # by its lower class measured without them (TexturePyramid.FlatRatio)
    flat_split = level > 0 and low_median < math.log(FLAT_RATIO)
    separates = not flat_split and (
        (eta >= SEPARABILITY and low_median <= math.log(NOISE_LIKE_RATIO))  # a weakly textured lower class
        or (eta >= NOISE_SEPARABILITY and low_median <= math.log(NOISE_RATIO)))  # a lower class of plain noise
    regions = planar and ratio.shape[1] >= COHERENT_MINIMUM_SIDE and ratio.shape[2] >= COHERENT_MINIMUM_SIDE
    cached = []

    def lower_coherent():  # measured only where a route (or a finer level's confirmation) asks for it, as the C#'s Lazy
        if not cached:
            split = valley_threshold(without_flat(sample))[0] if flat_split else valley
            cached.append(regions and largest_lower_region_share(ratio, ok, split, options["block_size"])
                          >= COHERENT_REGION_SHARE)
        return cached[0]

    if not separates and not flat_split and eta >= COHERENT_SEPARABILITY and low_median <= math.log(NOISE_LIKE_RATIO):
        separates = lower_coherent()  # textured resin beside tissue: a moderate split whose lower class is one large region
    # a weak split whose lower class is plain noise in one large region: resin if the next level confirms it
    noise_coherent = (not separates and not flat_split and eta >= COHERENT_NOISE_SEPARABILITY
                      and low_median <= math.log(NOISE_RATIO) and lower_coherent())
    minimum = math.log(UNIMODAL_THRESHOLD)
    if valley < minimum:  # the smallest threshold must not cut through the upper class
        upper = sample[sample.astype(np.float64) >= valley].astype(np.float64)
        cuts = bool(upper.size and np.count_nonzero(upper < minimum) > UPPER_SHARE_BELOW_THRESHOLD * upper.size)
        separates &= not cuts
        noise_coherent &= not cuts
    applied = math.log(options["threshold"]) if options["threshold"] is not None else max(valley, minimum)
    clarity = separability_at(sample, applied)
    q90 = float(_nth(sample, min(max(int(TEXTURE_QUANTILE * (sample.size - 1)), 0), sample.size - 1))) if sample.size else -math.inf
    return LevelMaps(level, ratio, smoothed, ok, fraction, separates, eta, valley, clarity,
                     q90 >= math.log(TEXTURE_TARGET), noise_coherent, lower_coherent)


def _pool(vote, fraction, block, planar):
    """The vote averaged over a block of valid voxels (normalised convolution)."""
    if block <= 1:
        return vote
    size = block  # (1, block, block) for a section: _uniform filters it in-plane
    pooled = _uniform(vote, size)
    if fraction is None:
        return pooled
    weight = _uniform(fraction, size)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(weight > F32(1e-6), pooled / weight, F32(0)).astype(F32)


def _share_below(maps, log_threshold):
    """The share of the threshold sample (valid cells) below ``log_threshold`` (LevelMaps.ShareBelow)."""
    sample = _sample(maps.ratio, maps.valid, THRESHOLD_SAMPLE_LIMIT)
    return float((sample.astype(np.float64) < log_threshold).mean()) if sample.size else 0.0


def texture_vote(ratio, log_threshold, valid):
    """sigmoid((log r - log t) / 0.25), 0 on invalid voxels (ClassicalMasker.ToVote)."""
    vote = ratio + F32(-log_threshold)
    vote *= F32(1 / SOFTNESS)
    vote = _sigmoid(vote)
    if valid is not None:
        vote[~valid] = 0
    return vote


def pooled_classes(maps, log_threshold, options, planar):
    """The pooled texture vote's classes as log ratios: log t - 1 where the vote, pooled as the confidence is, is under
    0.1, else log t + 1 (ClassicalMasker.PooledClasses)."""
    vote = texture_vote(maps.ratio, log_threshold, maps.valid)
    pooled = _pool(vote, maps.fraction, options["block_size"], planar)
    return np.where(pooled < F32(POOLED_RESIN_VOTE), F32(log_threshold - 1), F32(log_threshold + 1)).astype(F32)


def _rules(maps, log_threshold, options, planar, section_shape):
    """Under a threshold: the two classes' intensities (the stain reference, whether or not the rule is on), and the
    stain and resin references where the rules apply; where the texture classes give no resin reference, both measured
    on the pooled vote's classes, and where those give none, in a section large enough to trust its resin whose texture
    did not separate, on its intensity classes (ClassicalMasker.MeasureRules)."""
    classes = stain_reference(maps.ratio, log_threshold, maps.smoothed, maps.valid)
    if options["dense_threshold"] <= 0:
        return classes, None, None
    resin = (resin_reference(maps.ratio, log_threshold, maps.smoothed, maps.valid, classes, options["resin_window"])
             if classes is not None else None)
    if resin is None and options["resin_window"] > 0:
        pooled = pooled_classes(maps, log_threshold, options, planar)
        pooled_reference = stain_reference(pooled, log_threshold, maps.smoothed, maps.valid)
        if pooled_reference is not None:
            pr, ps = rule_sample(pooled, maps.smoothed, maps.valid)
            real = rule_sample(maps.ratio, maps.smoothed, maps.valid)[0]  # the texture ceiling from the real ratio
            pooled_resin = _resin_reference_of_sample(pr, ps, real, log_threshold, pooled_reference,
                                                      options["resin_window"])
            if pooled_resin is not None:
                return pooled_reference, pooled_reference, pooled_resin
        if planar and not maps.separates and trusts_known_resin(section_shape):
            split = intensity_classes(maps, log_threshold, options)
            if split is not None:
                return split[0], split[0], split[1]
    return classes, classes, resin


INTENSITY_MINIMUM_SEPARABILITY = 0.80  # IntensityClasses.MinimumSeparability
INTENSITY_MINIMUM_REGION_SHARE = 0.10  # IntensityClasses.MinimumRegionShare
INTENSITY_MINIMUM_REGION_PART = 0.5  # IntensityClasses.MinimumRegionPart


def intensity_classes(maps, log_threshold, options):
    """(stain reference, resin reference) of the section's intensity classes, or None (IntensityClasses.Measure): a clear
    Otsu split of the smoothed intensities; only the side of lower median texture is tested: one region (of >= 25 %, or
    of >= 10 % holding half the side), the
    other side's median >= 8 two-sided spreads of the side away, and the resin rule's measure accepting it."""
    r, s = rule_sample(maps.ratio, maps.smoothed, maps.valid)
    t, eta = otsu(*_histogram(s))
    if not eta >= INTENSITY_MINIMUM_SEPARABILITY:
        return None
    t = F32(t)
    lower, upper = s < t, s >= t
    texture = [_median(r[side]) if side.any() else np.inf for side in (lower, upper)]
    below = not texture[1] < texture[0]  # only the flatter side may be resin
    classes = np.where((maps.smoothed < t) == below, F32(log_threshold - 1), F32(log_threshold + 1)).astype(F32)
    if not intensity_side_coherent(lower_region_shares(classes, maps.valid, log_threshold, options["block_size"])):
        return None
    # The same voxels as the rules' sample, labelled by side (as drawing the class map again would pick them).
    on = lower if below else upper
    class_r = np.where(on, F32(log_threshold - 1), F32(log_threshold + 1)).astype(F32)
    stain = stain_reference_of(s[~on], s[on], r.size)
    if stain is None:
        return None
    if not _is_distinct(stain[0], stain[1], _two_sided_spread(s[on], stain[1])):  # two-sided, no re-centring
        return None
    resin = _resin_reference_of_sample(class_r, s, r, log_threshold, stain, options["resin_window"])
    return None if resin is None else (stain, resin)


def measure_volume(n, valid, options):
    """Fills padding, stabilises, models the noise, picks the level and threshold: (plan, chosen maps); ``n`` changes."""
    shape = n.shape
    planar = shape[0] == 1
    if valid is not None:
        sample = _sample(n, valid, THRESHOLD_SAMPLE_LIMIT)  # invalid voxels take the valid ones' median
        if sample.size:
            n[~valid] = _median(sample)
    patches = patch_statistics(n, valid)
    stabilised = stabilise(n, patches)
    if stabilised:
        patches = patch_statistics(n, valid)
    noise = estimate_noise(patches)

    asked = options["level"]
    highest = highest_level(shape, planar)
    first = min(asked, highest) if asked is not None else 0
    last = first if asked is not None else highest
    chosen = textured = finer = None
    tried = []
    for level in range(first, last + 1):
        maps = level_maps(n, valid, level, noise, planar, options)
        tried.append(level)
        if asked is None and finer is not None and not finer.separates and finer.noise_coherent and maps.lower_coherent:
            finer.separates = True  # a noise-like coherent split, confirmed by this level (LevelMaps.ConfirmBy)
            if chosen is None or finer.clarity > chosen.clarity:
                chosen = finer
        finer = maps
        if asked is not None or (maps.separates and (chosen is None or maps.clarity > chosen.clarity)):
            chosen = maps  # the clearest split at the threshold it would use wins; on a tie the finer level
        if textured is None and ((planar and maps.textured) or level == last):
            textured = maps  # a section: the finest level with clear texture; a 3D volume: the coarsest
    chosen = chosen or textured
    if not planar and asked is None and chosen.separates and not sections_confirm(n, valid, options):
        chosen = textured  # one material after all: its sections do not separate

    if options["threshold"] is not None:
        log_threshold = math.log(options["threshold"])
    elif chosen.separates:
        log_threshold = max(chosen.valley, math.log(UNIMODAL_THRESHOLD))
    else:
        log_threshold = math.log(UNIMODAL_THRESHOLD)
    reference, stain, resin = _rules(chosen, log_threshold, options, planar, n.shape)
    plan = dict(noise=noise, stabilised=stabilised, tried=tried, level=chosen.level, log_threshold=log_threshold,
                stain=stain, resin=resin, separated=chosen.separates, share=_share_below(chosen, log_threshold),
                reference=reference, from_stack=False)
    return plan, chosen


def sections_confirm(n, valid, options):
    """Whether a 3D volume's separation shows in 8 evenly spaced sections measured on their own (ClassicalMasker.SectionsConfirm)."""
    z_count = n.shape[0]
    zs = list(dict.fromkeys((2 * k * (z_count - 1) + CONFIRMING_SECTIONS - 1) // (2 * (CONFIRMING_SECTIONS - 1))
                            for k in range(CONFIRMING_SECTIONS)))
    measured = separated = 0
    for z in zs:
        ok = None if valid is None else valid[z:z + 1]
        if ok is not None and not ok.any():
            continue
        plan, _ = measure_volume(n[z:z + 1].copy(), ok, options)
        measured += 1
        separated += bool(plan["separated"])
    return measured == 0 or 2 * separated >= measured


def section_consensus(plans):
    """The level and threshold a stack's sections agree on (SectionConsensus.From), or None."""
    separated = [p for p in plans if p["separated"]]
    if len(separated) < SECTION_MINIMUM_SEPARATED or len(separated) < SECTION_AGREEMENT * len(plans):
        return None
    counts = {}
    for p in separated:
        counts[p["level"]] = counts.get(p["level"], 0) + 1
    level = min(counts, key=lambda lv: (-counts[lv], lv))  # the most common level, finer on a tie
    at_level = [p for p in separated if p["level"] == level]
    referenced = [p["reference"] for p in at_level if p["reference"] is not None]
    if not referenced:
        return None

    def lower_median(values):
        values = sorted(values)
        return values[(len(values) - 1) // 2]

    return (level, lower_median(p["log_threshold"] for p in at_level), lower_median(p["share"] for p in at_level),
            float(lower_median(r[1] for r in referenced)), float(lower_median(r[0] for r in referenced)))


def agree(n, valid, plan, chosen, consensus, options):
    """A section that did not separate takes the stack's level and threshold when its share admits it (ClassicalMasker.Agree)."""
    if consensus is None or options["threshold"] is not None or chosen.separates:
        return plan, chosen
    level, log_threshold, share, resin_median, tissue_median = consensus
    maps = chosen if chosen.level == level else level_maps(n, valid, level, plan["noise"], True, options)
    reference, stain, resin = _rules(maps, log_threshold, options, True, n.shape)
    if _share_below(maps, log_threshold) < SECTION_SHARE_FRACTION * share:
        return plan, chosen
    if reference is None or not abs(float(reference[1]) - resin_median) < abs(float(reference[1]) - tissue_median):
        return plan, chosen
    return dict(plan, level=level, log_threshold=log_threshold, stain=stain, resin=resin, from_stack=True), maps


def finish_volume(n, valid, plan, chosen, options):
    """Vote, pooling, confidence, mask, refinement, filling, small regions: (mask, confidence, outcome)."""
    shape = n.shape
    planar = shape[0] == 1
    level = chosen.level
    log_threshold, stain, resin = plan["log_threshold"], plan["stain"], plan["resin"]

    # Vote, 0 on invalid blocks; tracheae out; raised where the material is more stained than tissue; lowered at the
    # resin's own intensity, before and after pooling.
    ratio = chosen.ratio
    weight = resin_weight(ratio, chosen.smoothed, resin, stain, chosen.valid, planar) if resin is not None else None
    vote = texture_vote(ratio, log_threshold, chosen.valid)
    if stain is not None:
        gap = -(-options["trachea_gap"] // (1 << level))  # full-resolution voxels -> working level, rounded up
        walls = (trachea_rule(vote, chosen.smoothed, stain, options["dense_threshold"], gap, planar)
                 if gap > 0 else None)
        raise_votes(vote, chosen.smoothed, stain, options["dense_threshold"], walls)
        if chosen.valid is not None:
            vote[~chosen.valid] = 0

    if weight is not None:
        vote *= F32(1) - weight
    pooled = _pool(vote, chosen.fraction, options["block_size"], planar)
    if weight is not None:
        pooled = (pooled * (F32(1) - weight)).astype(F32)
    confidence = pooled if level == 0 else trilinear_upsample(pooled, shape, 1 << level)
    ok = np.ones(shape, bool) if valid is None else valid
    mask = (confidence >= F32(0.5)) & ok
    markers = None
    if weight is not None:  # BoundaryRefinement.ResinMarkerWeight, on the weight upsampled as the confidence is
        markers = (weight if level == 0 else trilinear_upsample(weight, shape, 1 << level)) >= F32(RESIN_MARKER_WEIGHT)
    cells = RESIN_HOLE_CELLS << (2 * level)
    if options["refine_boundary"]:
        known = planar and markers is not None and np.count_nonzero(markers) >= cells
        trim = resin_trim_measure(n, markers, valid) if known else None
        coarse = mask.copy()
        # Where the section's resin is known: fine resin markers too, and only resin-like material is taken away.
        beside = trim if trusts_known_resin(shape) else None  # markers beside the mask
        refine_boundary(mask, n, valid, level, markers if trim is None else fine_resin_markers(n, markers, valid, trim, cells),
                        beside)
        if trim is not None:
            resin_trim(mask, coarse, trim)
    fill_holes(mask, per_slice=planar, keep_open=markers if planar else None, minimum_marked=cells)
    if planar and markers is not None and np.count_nonzero(markers) >= cells:
        # Where the section's resin is known by its markers, non-brain holding no material at the resin's intensity
        # (nor padding) is filled, at the border too (ClassicalMasker.MaskFromConfidence).
        like = at_resin_intensity(chosen.smoothed, resin, chosen.valid).astype(F32)
        like = (like if level == 0 else trilinear_upsample(like, shape, 1 << level)) >= F32(0.5)
        fill_unmarked(mask, like | ~ok, cells)
    remove_small_regions(mask, minimum_region_for(options["minimum_region_size"], mask.size))

    # Padding is never tissue, and the confidence agrees with the mask.
    confidence = confidence.astype(F32, copy=True)
    mask &= ok
    if planar and options["stain_join"] > 0 and trusts_known_resin(shape):
        stained_join(n, ok, mask, options["stain_join"])  # stained regions touching the section's mask join it
    confidence[~ok] = 0
    confidence[mask & (confidence < F32(0.5))] = F32(0.5)
    confidence[~mask & (confidence >= F32(0.5))] = F32(0.4999)
    outcome = dict(threshold=math.exp(log_threshold), level=level, tried=plan["tried"], noise=plan["noise"],
                   stabilised=plan["stabilised"], resin=resin, from_stack=plan["from_stack"])
    return mask, confidence, outcome


STAINED_SCORE = 0.5  # StainedAdmission.StainScore
STAINED_SMOOTHING = 2.0  # StainedAdmission.Smoothing
STAINED_OPENING = 2  # StainedAdmission.OpeningRadius
STAINED_MINIMUM = 1000  # StainedAdmission.MinimumVoxels
KNOWN_RESIN_MINIMUM_EDGE = 128  # TissueEnvelope.KnownResinMinimumEdge


def trusts_known_resin(shape):
    """Whether sections of ``shape`` are large enough for their known resin to be trusted (TissueEnvelope.TrustsKnownResin)."""
    return min(shape[-2], shape[-1]) >= KNOWN_RESIN_MINIMUM_EDGE


def stained_join(image, ok, mask, score=STAINED_SCORE):
    """StainedAdmission.Admit on one section whose envelope is its own mask (changed in place): valid voxels outside it
    more stained than the tissue's median by half its spread (on the image smoothed by 2), opened by 2, in 4-connected
    regions of at least 1000 voxels that touch the mask, join it. Returns the voxels joined."""
    s = ndi.gaussian_filter(image[0].astype(F32), STAINED_SMOOTHING)
    valid = ok[0] & np.isfinite(image[0])
    m = mask[0]
    eligible = np.flatnonzero(valid)
    step = max(1, eligible.size // STAIN_SAMPLE_LIMIT)
    picked = eligible[::step]
    values, inside = s.reshape(-1)[picked], m.reshape(-1)[picked]
    reference = stain_reference_of(values[inside], values[~inside], picked.size)
    if reference is None:
        return 0
    mt, mr, spread = reference
    scale = F32((1 if mt >= mr else -1) / spread)
    stained = valid & ~m & (scale * (s - mt) > score)
    r = STAINED_OPENING
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    stained = ndi.binary_opening(stained, structure=(yy * yy + xx * xx) <= r * r)
    labels, count = ndi.label(stained)
    if count == 0:
        return 0
    near = ndi.binary_dilation(m)  # 4-neighbours of the mask
    touches = np.zeros(count + 1, bool)
    touches[np.unique(labels[near & (labels > 0)])] = True
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    join = touches & (sizes >= STAINED_MINIMUM)
    join[0] = False
    added = join[labels]
    m |= added
    return int(added.sum())


def run_volume(n, valid, options):
    """One volume (3D) or one section (Z = 1): (mask, confidence, outcome); ``n`` is consumed."""
    plan, chosen = measure_volume(n, valid, options)
    return finish_volume(n, valid, plan, chosen, options)


def run_sections(n, valid, options):
    """Mode 2d: every section on its own; one that does not separate may take the stack's level and threshold.

    Yields (z, mask, confidence, outcome) in the order sections finish (ClassicalMasker.RunSections).
    """
    measured = []
    for z in range(n.shape[0]):
        ok = None if valid is None else valid[z:z + 1]
        if ok is not None and not ok.any():
            continue  # a section of padding only
        section = n[z:z + 1].copy()
        plan, chosen = measure_volume(section, ok, options)
        measured.append((z, section, ok, plan, chosen))
    consensus = section_consensus([m[3] for m in measured]) if options["threshold"] is None else None
    for z, section, ok, plan, chosen in measured:
        plan, chosen = agree(section, ok, plan, chosen, consensus, options)
        yield (z,) + finish_volume(section, ok, plan, chosen, options)


def _check(options):
    o = dict(DEFAULTS)
    unknown = set(options) - set(o)
    if unknown:
        raise TypeError(f"unknown option(s): {sorted(unknown)}")
    o.update(options)
    if o["mode"] not in ("auto", "2d", "3d"):
        raise ValueError(f"mode must be auto, 2d or 3d, got {o['mode']!r}")
    if o["level"] in ("auto",):
        o["level"] = None
    if o["threshold"] in ("auto",):
        o["threshold"] = None
    return o


def classical_mask(raw, voxel_size=None, info=None, **options):
    """The classical mask of a 2D (y, x) or 3D (z, y, x) uint8, uint16 or float32 image.

    ``options`` are ClassicalMaskOptions in Python names (see :data:`DEFAULTS`); ``voxel_size`` (z, y, x) only matters
    for the automatic mode. Returns (mask uint8, confidence float32, threshold); when ``info`` is a dict it receives
    the mode and, per volume or section masked, the outcome (threshold, level, levels tried, noise model).
    """
    o = _check(options)
    raw = np.asarray(raw)
    rank = raw.ndim
    if rank == 2:
        raw = raw[None]
    if raw.ndim != 3 or min(raw.shape) < 1:
        raise ValueError(f"image must be 2D or 3D with no empty axis, got shape {raw.shape}")
    if raw.dtype not in (np.uint8, np.uint16, np.float32):
        raw = raw.astype(F32)
    shape = raw.shape
    n, non_finite, constant, _ = normalise(raw)
    fallback = o["threshold"] if o["threshold"] is not None else UNIMODAL_THRESHOLD
    mask = np.zeros(shape, np.uint8)
    confidence = np.zeros(shape, F32)
    mode = resolve_mode(o["mode"], shape, voxel_size)
    outcomes = []
    if info is not None:
        info.update(mode=mode, outcomes=outcomes)

    def done(threshold):
        if rank == 2:
            return mask[0], confidence[0], threshold
        return mask, confidence, threshold

    if constant:
        return done(fallback)
    padding = detect_padding(n)
    valid = None if padding is None else ~padding
    if non_finite and raw.dtype == np.float32:
        valid = np.isfinite(raw) if valid is None else valid & np.isfinite(raw)
    if valid is not None and not valid.any():
        return done(fallback)

    if mode == "2d" and shape[0] > 1:
        for z, m, c, outcome in run_sections(n, valid, o):
            mask[z:z + 1], confidence[z:z + 1] = m, c
            outcomes.append(outcome)
    else:
        m, c, outcome = run_volume(n, valid, o)
        mask[...], confidence[...] = m, c
        outcomes.append(outcome)
    thresholds = sorted(x["threshold"] for x in outcomes)
    return done(thresholds[(len(thresholds) - 1) // 2] if thresholds else fallback)


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
