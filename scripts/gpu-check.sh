#!/usr/bin/env bash
# The GPU check: bench/gpu_check.py on a CUDA machine (numerics of the GPU-only paths, the memory
# estimator against the CUDA allocator, the benchmark against HF Trainer and TRL, MFU), writing
# bench/results/cuda-<date>.json. Wheels in .whl/ (scripts/gpu-wheelhouse.sh) are installed first into a
# private folder, so a machine without internet gets TRL, Liger and bitsandbytes. `--device cpu`
# rehearses it here. GPU_CHECK_SECONDS bounds the whole check (default 480).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# The wheels are for the device's Python 3.12; a rehearsal elsewhere uses what its interpreter has.
if compgen -G ".whl/*.whl" > /dev/null && "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then
  SITE=${TMPDIR:-/tmp}/sft-gpu-check-site
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl \
    || { echo "gpu-check: installing .whl/ failed" >&2; exit 1; }
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1
exec timeout --signal=INT --kill-after=20 "${GPU_CHECK_SECONDS:-480}" "$PY" bench/gpu_check.py "$@"
