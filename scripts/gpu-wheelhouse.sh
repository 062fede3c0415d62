#!/usr/bin/env bash
# Builds .whl/: the wheels the GPU check needs and a CUDA machine without internet lacks, for Python 3.12
# on x86-64 (the device's image has torch, transformers, peft, accelerate, safetensors, pyarrow, pandas).
# Carried with the working tree (64 MiB in all), so bitsandbytes is rebuilt with only its CUDA 13 and CPU
# libraries (43 MB -> about 4 MB). scripts/gpu-check.sh installs whatever is there; what is missing is
# skipped by the check, which says so.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DEST=.whl
mkdir -p "$DEST"
PLATFORMS=()
for tag in manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux_2_24_x86_64 manylinux_2_27_x86_64 \
           manylinux_2_28_x86_64 manylinux_2_31_x86_64 manylinux_2_34_x86_64 manylinux_2_35_x86_64 any; do
  PLATFORMS+=(--platform "$tag")
done
# The peers (TRL and what it imports beyond the image), the trainer's config validation, Liger, QLoRA.
WHEELS=(trl==1.16.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 jsonschema==4.26.0
        jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==2026.9.1 liger-kernel==0.8.5
        bitsandbytes==0.50.2)
for wheel in "${WHEELS[@]}"; do
  name=${wheel%%==*}
  if compgen -G "$DEST/$(echo "$name" | tr - _)-${wheel##*==}-*.whl" > /dev/null; then continue; fi
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${PLATFORMS[@]}" -d "$DEST" "$wheel"
done
"$PY" - "$DEST" <<'PYEOF'
# Keep bitsandbytes' CPU and CUDA 13.x libraries only, and rewrite its RECORD to match.
import pathlib, re, sys, zipfile
dest = pathlib.Path(sys.argv[1])
for wheel in dest.glob("bitsandbytes-*.whl"):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        drop = [n for n in names if re.search(r"libbitsandbytes_(cuda(?!13)\d+|rocm\d+|xpu\d+)\.so$", n)]
        if not drop:
            continue
        slim = wheel.with_suffix(".slim")
        with zipfile.ZipFile(slim, "w", zipfile.ZIP_DEFLATED) as out:
            for n in names:
                if n in drop:
                    continue
                data = z.read(n)
                if n.endswith(".dist-info/RECORD"):
                    data = "".join(l for l in data.decode().splitlines(True) if l.split(",")[0] not in drop).encode()
                out.writestr(z.getinfo(n), data)
    slim.replace(wheel)
    print(f"{wheel.name}: dropped {len(drop)} libraries for other CUDA/ROCm/XPU versions")
PYEOF
du -sh "$DEST"
