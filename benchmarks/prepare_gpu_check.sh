#!/usr/bin/env bash
# Run HERE (the CPU machine with the data root and PyPI), before the device call that runs
# benchmarks/gpu_check.sh. Writes two git-ignored folders that the call carries:
#   .whl/      wheels the GPU image lacks: ogb==1.3.6 alone (pure Python). Its other
#              requirements are there already (numpy, pandas, scikit-learn, six, tqdm, torch,
#              urllib3, requests, setuptools) except outdated and littleutils, which are left
#              out on purpose: ogb imports outdated only inside try/except, and with it present
#              every `import ogb` starts a (non-daemon) thread that asks PyPI for a newer
#              version with requests.get and no timeout, which an offline machine can only
#              wait out at exit. RDKit is not carried: nothing on the GPU parses SMILES (the
#              molecules travel featurised, the tests use fake molecules).
#   .gpudata/  moses-<N>.pt (the first N MOSES molecules, featurised: GraphStore.save),
#              planetoid/Cora/raw/ and MANIFEST.json (python -m benchmarks.gpu_data).
# Usage:  bash benchmarks/prepare_gpu_check.sh            (N = 50000; GPU_CHECK_MOLECULES=N)
# Env:    PYTHON (default: .venv/bin/python, else python3), GRAPHPFM_DATA (default
#         ../shared/data), GPU_CHECK_MOLECULES, GPU_CHECK_SKIP_WHEELS=1 (data only).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-}
if [[ -z $PY ]]; then
    if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi
export GRAPHPFM_DATA=${GRAPHPFM_DATA:-../shared/data}
N=${GPU_CHECK_MOLECULES:-50000}
OGB_VERSION=1.3.6
LIMIT_MIB=40

# both folders must stay out of git (.gitignore lists them; say so loudly if not)
for d in .whl .gpudata; do
    if ! git check-ignore -q "$d/x"; then
        echo "error: $d/ is not git-ignored; add /$d/ to .gitignore or .git/info/exclude" >&2
        exit 1
    fi
done

if [[ ${GPU_CHECK_SKIP_WHEELS:-0} != 1 ]]; then
    mkdir -p .whl
    rm -f .whl/ogb-*.whl  # one version of each package, or the install there stops
    # the device README's recipe: CPython 3.12 on manylinux x86-64 (ogb is py3-none-any)
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        --platform manylinux1_x86_64 -d .whl "ogb==$OGB_VERSION"
    echo "wheels in .whl/:"
    ls -l .whl
fi

echo "writing .gpudata/ (first $N MOSES molecules, Cora) from $GRAPHPFM_DATA"
nice -n 10 "$PY" -m benchmarks.gpu_data --out .gpudata --molecules "$N"

total_kib=$(du -sk .whl .gpudata 2>/dev/null | awk '{s += $1} END {print s}')
du -sh .whl .gpudata 2>/dev/null || true
echo "total to carry: $((total_kib / 1024)) MiB (.whl + .gpudata; limit set here: $LIMIT_MIB MiB;" \
     "the device call carries at most 64 MiB with the working tree)"
if (( total_kib > LIMIT_MIB * 1024 )); then
    echo "error: more than $LIMIT_MIB MiB; lower GPU_CHECK_MOLECULES" >&2
    exit 1
fi
echo "next: the device call  command='bash benchmarks/gpu_check.sh'  carry=['.whl', '.gpudata']" \
     " timeout_s=540  (benchmarks/README.md, 'GPU checks')"
