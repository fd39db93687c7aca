#!/usr/bin/env bash
# The device checks of a session lent a GPU, as one run (each step bounded, each table kept in $OUT):
#   bash ../shared/gpu/prepare.sh && cp ../shared/gpu/run.sh .whl/      # here
#   bash .whl/run.sh bash benchmarks/gpu_checks.sh                       # there, .whl/ carried along
set -uo pipefail
repo=${SARGEO_REPO:-$(cd "$(dirname "$0")/.." && pwd)}
out=${OUT:-$(mktemp -d)}
step() {  # step NAME SECONDS COMMAND...: run it, its output both shown and kept as $out/NAME.txt
  local name=$1 limit=$2
  shift 2
  echo "== $name"
  timeout "$limit" "$@" 2>&1 | grep -v Warning | tee "$out/$name.txt"
}
nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv | tee "$out/gpu.txt"
step engine 300 python3 "$repo/benchmarks/colorize_bench.py" --device cuda --sizes 12288 --widths 16 64 --repeats 2
step stages 150 python3 "$repo/benchmarks/stages_bench.py" --device cuda --size 12288 --widths 16 64 \
  --codecs DEFLATE ZSTD:1 --write-threads 4 8 12 ALL_CPUS
step agreement 120 python3 "$repo/benchmarks/device_agreement.py" --size 2048
work=$(mktemp -d)
python3 -c "import sys; sys.path.insert(0, '$repo/benchmarks'); from colorize_bench import make_scene
from pathlib import Path
for i in range(4): make_scene(Path('$work') / f's{i}.tif', 6144, seed=i)"
step many 120 bash -c "TIMEFORMAT='4 scenes of 6144 px in one run: %R s'; time sargeo colorize \
  $work/s*.tif $work/out --device cuda --overwrite 2>/dev/null"
