#!/usr/bin/env bash
# Every GPU check of graphpfm in one command, on a machine with a GPU
# (benchmarks/README.md, "GPU checks"). First, here: bash benchmarks/prepare_gpu_check.sh
# Then the device call:   command: bash benchmarks/gpu_check.sh
#                         carry:   [".whl", ".gpudata"]        timeout_s: 540
# Steps (each under `timeout`, within a total budget of GPU_CHECK_BUDGET_S = 450 s; a step
# that fails is recorded and the next one runs):
#   install    the carried wheels (.whl: ogb) into /tmp/site, PYTHONPATH=/tmp/site:$PWD
#   env        nvidia-smi, torch / CUDA / PyG / ogb versions (fails if CUDA is not seen)
#   tests      pytest -m device on tests/test_devices.py: every case on cpu and cuda
#   throughput attr_masking, GIN 5x300, first 50,000 MOSES molecules (.gpudata): the
#              Trainer's loop against the model-only ceiling, float32 (3 trials), then
#              bf16 autocast (2 trials), then 6 loader workers (2 trials)
#   amp        ms per step, float32 against bf16 (MOSES batches 256 and 32; Cora objectives)
#   estimate   minutes per epoch over the 1,584,663-molecule MOSES training split from the
#              loop's graphs/s, beside the ~11 min per epoch quoted for attribute masking on
#              ZINC 2M on one V100
# Files in $OUT (what comes back): gpu_check.log (everything printed, also when killed),
# steps.jsonl (status and seconds of each step), pytest_devices.xml (JUnit),
# throughput.jsonl, amp.jsonl, epoch_estimate.json.
# Dry run here, on the CPU, tiny sizes, no wheel needed (under a minute on a free core):
#   GPU_CHECK_DRY=1 PYTHON=.venv/bin/python bash benchmarks/gpu_check.sh
# (it hides RDKit, as the GPU image has none, and writes to $OUT or /tmp/gpu_check_dry).
set -euo pipefail
cd "$(dirname "$0")/.."

DRY=${GPU_CHECK_DRY:-0}
PY=${PYTHON:-python3}
BUDGET=${GPU_CHECK_BUDGET_S:-450}
MOLECULES=${GPU_CHECK_MOLECULES:-50000}
STORE=.gpudata/moses-$MOLECULES.pt
TESTS=${GPU_CHECK_TESTS:-tests/test_devices.py}
if [[ $DRY == 1 ]]; then
    OUT=${OUT:-/tmp/gpu_check_dry}
    SITE=${GPU_CHECK_SITE:-/tmp/gpu_check_dry_site}
    DEVICE=cpu
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
else
    OUT=${OUT:-/tmp/gpu_check_out}
    SITE=${GPU_CHECK_SITE:-/tmp/site}
    DEVICE=cuda
fi
mkdir -p "$OUT"
LOG=$OUT/gpu_check.log
STEPS=$OUT/steps.jsonl
: >"$LOG"
: >"$STEPS"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg TQDM_DISABLE=1
export GRAPHPFM_DATA=$PWD/.gpudata
export GRAPHPFM_CACHE=${GRAPHPFM_CACHE:-/tmp/graphpfm-cache}
START=$SECONDS
failed=()

say() { echo "== [$((SECONDS - START))s] $*" | tee -a "$LOG"; }

record() {  # record NAME STATUS RC SECONDS
    printf '{"step": "%s", "status": "%s", "rc": %s, "seconds": %s}\n' "$1" "$2" "$3" "$4" \
        >>"$STEPS"
}

step() {  # step NAME CAP_SECONDS COMMAND...: run under min(cap, budget left), log via tee
    local name=$1 cap=$2
    shift 2
    local left=$((BUDGET - (SECONDS - START)))
    local limit=$((cap < left ? cap : left))
    if ((limit < 15)); then
        say "$name: SKIPPED (${left}s of the ${BUDGET}s budget left)"
        record "$name" skipped null 0
        failed+=("$name")
        return 0
    fi
    say "$name (limit ${limit}s): $*"
    local t0=$SECONDS rc=0
    timeout -k 10 "$limit" "$@" 2>&1 | tee -a "$LOG" || rc=$?
    local status=ok
    if ((rc == 124 || rc == 137)); then status=timeout; elif ((rc != 0)); then status=failed; fi
    say "$name: $status (rc $rc, $((SECONDS - t0))s)"
    record "$name" "$status" "$rc" "$((SECONDS - t0))"
    [[ $status == ok ]] || failed+=("$name")
}

say "gpu_check: dry=$DRY device=$DEVICE python=$PY out=$OUT budget=${BUDGET}s"

# ---------------------------------------------------------------- install
if [[ $DRY == 1 ]]; then  # the GPU image has no RDKit: make `import rdkit` fail here too
    mkdir -p "$SITE/_no_rdkit/rdkit"
    echo 'raise ImportError("RDKit hidden by GPU_CHECK_DRY (the GPU image has none)")' \
        >"$SITE/_no_rdkit/rdkit/__init__.py"
fi
if compgen -G '.whl/*.whl' >/dev/null; then
    step install 90 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target "$SITE" .whl/*.whl
else
    say "install: no wheels in .whl/ (run benchmarks/prepare_gpu_check.sh here first)"
fi
export PYTHONPATH=$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}
if [[ $DRY == 1 ]]; then export PYTHONPATH=$SITE/_no_rdkit:$PYTHONPATH; fi
if [[ ! -f $STORE ]]; then
    say "error: $STORE is missing: run benchmarks/prepare_gpu_check.sh here and carry .gpudata"
fi

# ---------------------------------------------------------------- env
if command -v nvidia-smi >/dev/null; then
    step nvidia-smi 30 nvidia-smi
fi
step env 60 "$PY" - "$DEVICE" <<'EOF'
import importlib, os, platform, sys
import torch
device = sys.argv[1]
print('python', platform.python_version(), sys.executable)
print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print('gpu', p.name, f'{p.total_memory / 2**30:.0f} GiB', f'sm_{p.major}{p.minor}',
          p.multi_processor_count, 'SMs', 'bf16', torch.cuda.is_bf16_supported())
    print('tf32 matmul', torch.backends.cuda.matmul.allow_tf32)
for name in ('torch_geometric', 'ogb', 'rdkit', 'sklearn', 'pandas', 'numpy', 'pytest_timeout',
             'graphpfm'):
    try:
        mod = importlib.import_module(name)
        print(name, getattr(mod, '__version__', '?'), os.path.dirname(mod.__file__))
    except ImportError as exc:
        print(name, 'MISSING', exc)
print('cpus', os.cpu_count(), 'torch threads', torch.get_num_threads())
if device == 'cuda' and not torch.cuda.is_available():
    sys.exit('CUDA is not available: the checks below need it')
EOF

# ---------------------------------------------------------------- tests
timeout_opt=()
if "$PY" -c 'import pytest_timeout' 2>/dev/null; then timeout_opt=(--timeout 120); fi
# shellcheck disable=SC2086  # TESTS is a list of paths
step tests 180 "$PY" -m pytest -x -q -p no:cacheprovider -m device "${timeout_opt[@]}" \
    --junitxml "$OUT/pytest_devices.xml" $TESTS
if [[ $DRY != 1 ]]; then  # a run that generated no CUDA case passed nothing on the GPU
    step tests-cuda-cases 15 grep -q 'name="[^"]*cuda' "$OUT/pytest_devices.xml"
fi

# ---------------------------------------------------------------- measurements
if [[ $DRY == 1 ]]; then
    thr=(--num-molecules 256 --num-layers 2 --hidden-channels 32 --batch-size 64)
    trials=(1 1 1) workers=2
    amp_args=(--steps 1 --batch-sizes 32 --node-methods dgi)
else
    thr=(--num-molecules "$MOLECULES" --num-layers 5 --hidden-channels 300 --batch-size 256)
    trials=(3 2 2) workers=6
    amp_args=(--steps 20 --batch-sizes 256,32 --node-methods all)
fi
common=(-m benchmarks.throughput --store "$STORE" --objectives attr_masking --device "$DEVICE"
        --out "$OUT/throughput.jsonl" "${thr[@]}")
step throughput-fp32 150 "$PY" "${common[@]}" --trials "${trials[0]}" --num-workers 0
step amp 120 "$PY" -m benchmarks.amp --store "$STORE" --root .gpudata --device "$DEVICE" \
    --out "$OUT/amp.jsonl" "${amp_args[@]}"
step throughput-bf16 100 "$PY" "${common[@]}" --trials "${trials[1]}" --num-workers 0 --amp bf16
step throughput-workers 100 "$PY" "${common[@]}" --trials "${trials[2]}" \
    --num-workers "$workers"

# ---------------------------------------------------------------- estimate (always runs)
BUDGET=$((BUDGET + 30))
step estimate 30 "$PY" - "$OUT" <<'EOF'
"""Minutes per epoch over the MOSES training split, extrapolated from the 50,000-molecule
measurements (graphs/s is taken as constant in corpus size: the store is memory-mapped and the
loader's cost per batch does not grow with the corpus)."""
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
MOSES_TRAIN, ZINC = 1_584_663, 2_000_000
REFERENCE = ('attribute masking on ZINC 2M, one V100: ~11 min per epoch (the published '
             'figure for Hu et al.\'s setting; not measured here)')
rows = [json.loads(line) for line in (out / 'throughput.jsonl').read_text().splitlines()
        if line.strip()] if (out / 'throughput.jsonl').is_file() else []
estimates = []
for r in rows:
    e = {k: r[k] for k in ('objective', 'encoder', 'device', 'device_name', 'amp', 'num_workers',
                           'graphs', 'batch_size', 'loop_graphs_per_s', 'ceiling_graphs_per_s',
                           'ratio')}
    e['moses_train_epoch_min_loop'] = round(MOSES_TRAIN / r['loop_graphs_per_s'] / 60, 2)
    e['moses_train_epoch_min_ceiling'] = round(MOSES_TRAIN / r['ceiling_graphs_per_s'] / 60, 2)
    e['zinc2m_epoch_min_loop'] = round(ZINC / r['loop_graphs_per_s'] / 60, 2)
    estimates.append(e)
    print(f"{e['amp'] or 'float32':8s} workers {e['num_workers']}: loop "
          f"{e['loop_graphs_per_s']:9.1f} graphs/s, ceiling {e['ceiling_graphs_per_s']:9.1f} "
          f"(ratio {e['ratio']}); epoch of MOSES train {e['moses_train_epoch_min_loop']} min "
          f"(ceiling {e['moses_train_epoch_min_ceiling']}), 2M molecules "
          f"{e['zinc2m_epoch_min_loop']} min")
print('reference:', REFERENCE)
(out / 'epoch_estimate.json').write_text(json.dumps(
    {'moses_train_molecules': MOSES_TRAIN, 'reference': REFERENCE,
     'note': 'MOSES molecules average 20.9 atoms; ZINC15 2M differs in size: compare per '
             'molecule with care', 'estimates': estimates}, indent=1) + '\n')
if not estimates:
    sys.exit('no throughput records to extrapolate from')
EOF

say "done in $((SECONDS - START))s; files: $(cd "$OUT" && ls | tr '\n' ' ')"
if ((${#failed[@]})); then
    say "FAILED or skipped steps: ${failed[*]}"
    exit 1
fi
say "all steps ok"
