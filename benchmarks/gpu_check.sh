#!/usr/bin/env bash
# The GPU checks of issue 12 in one short run, for a CUDA machine that has PyTorch but no .NET (the `device` machine).
# PREPARED WITHOUT A GPU: no session has run it yet; expect to fix small things on the first run.
#
# Here (2 cores, no GPU), from the repository root:
#   ../shared/tools/gpu/make-bundle.sh .gpu && rm -rf .gpu/models      # ~28 MB; the models travel in models/
# There (device `run` with carry [".gpu"], timeout ~540 s):
#   bash benchmarks/gpu_check.sh .gpu 2>&1 | tee $OUT/gpu_check.txt
#
# What it measures (issue 12's "done means"): ours vs the PyTorch peer at 128x512x512 in fp32/bf16/fp16 (ratio, Mvox/s,
# Dice vs the peer and vs our fp32), the whole CLI run with the defaults and with --tta 1 (target <= 3 s), the stage
# timings, and a volume larger than one device slab (slabs, no out-of-memory).
set -uo pipefail
B=${1:-.gpu}
RUN="$B/run.sh"
[ -x "$RUN" ] || { echo "no bundle at $B (see the header)" >&2; exit 2; }
export EMMASK_LIBTORCH=auto                      # the libtorch of this machine's PyTorch (InstalledLibTorch)
export EM_MASK_MODEL="$PWD/models/em-mask-unet-v2.safetensors"
PY=${PYTHON:-python3}
W=$(mktemp -d /tmp/emmask-gpu.XXXXXX)
step() { echo; echo "== $*"; }

step machine
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
"$PY" -c "import torch, h5py; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'h5py', h5py.__version__)"

step "1. ours vs the PyTorch peer (network stage; 128x512x512, batch 16, tta 1, no skip, no envelope, scale 1)"
timeout 300 "$PY" benchmarks/unet_gpu.py --device cuda --emmask "$RUN" --python "$PY" --precision fp32,bf16,fp16 \
    --model "$EM_MASK_MODEL" --keep "$W/bench"

step "2. whole CLI runs (start-up, read, compute, write) on the same phantom"
for args in "" "--tta 1" "--tta 1 --precision bf16"; do
    start=$(date +%s.%N)
    bash "$RUN" mask "$W/bench/phantom.h5" "$W/whole.h5" --method unet --device cuda $args --json --force -q > "$W/whole.json"
    end=$(date +%s.%N)
    echo "defaults $args: whole run $(echo "$end - $start" | bc) s; $(tail -1 "$W/whole.json" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print("compute", round(d["ComputeSeconds"], 3), "stages", {k: round(v, 3) for k, v in d["Stages"].items()})')"
    bash "$RUN" eval "$W/whole.h5" "$W/bench/phantom.h5" | tail -1
done

step "3. larger than one device slab (320x1536x1536 = 755 Mvox; slabs of <= 256 Mi padded voxels)"
bash "$RUN" phantom "$W/big.h5" --seed 3 --shape 320 1536 1536 --force -q
start=$(date +%s.%N)
bash "$RUN" mask "$W/big.h5" "$W/big_mask.h5" --method unet --device cuda --tta 1 --json --force -q | tail -1
echo "whole run $(echo "$(date +%s.%N) - $start" | bc) s"
bash "$RUN" eval "$W/big_mask.h5" "$W/big.h5" | tail -1
rm -rf "$W"
