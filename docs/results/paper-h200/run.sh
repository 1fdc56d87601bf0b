#!/bin/bash
# Paper-preset training on the device: rebuild the 480x320 export, time-boxed G, F, L2M, RI-100, score.
# env: PRESET (paper), TG TF TL (minutes per model), DATA (skip the rebuild when set), OUT, RUNS, DEV
set -u
if ls .gpu/whl/*.whl >/dev/null 2>&1; then python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .gpu/whl/*.whl && export PYTHONPATH=/tmp/site || exit 1; fi
export PYTHONPATH=${PYTHONPATH:-}:$PWD/src PYTHONUNBUFFERED=1 MPLBACKEND=Agg
PRESET=${PRESET:-paper}; R=${RUNS:-/tmp/runs}; mkdir -p $R $OUT
EVA="python3 -m eva.cli.main"
T0=$(date +%s); el() { echo "[$(( $(date +%s) - T0 )) s] $*"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.is_available() and torch.cuda.get_device_name())"
if [ -z "${DATA:-}" ]; then
  DATA=/tmp/e480
  python3 .gpu/regen.py .gpu/e16k_pack.npz $DATA || exit 1
  el regen done
fi
python3 - "$DATA" "$PRESET" <<'PY' || exit 1
import sys
from eva.learning.config import preset_configs
from eva.learning.data import BabblingData
d = BabblingData.open(sys.argv[1]); m, t = preset_configs(sys.argv[2], "generator")
print(d.face_crop(m.image_size, t.crop_margin))
d.model_images(d.face_crop(m.image_size, t.crop_margin), progress=False)
PY
el crop cache done
train() {  # kind budget_min extra...
  local kind=$1 budget=$2; shift 2
  $EVA train $kind --data $DATA --preset $PRESET --no-progress --time-limit $budget "$@"
  el "$kind $*: rc $?"
  for f in $R/*/seed0/log.json; do d=$(basename $(dirname $(dirname $f))); cp $f $OUT/$d.log.json; done
}
train generator ${TG:-3.0} --out $R/generator/seed0
[ -f $R/generator/seed0/best.pt ] || train generator ${TG:-3.0} --batch-size 98 --out $R/generator-b98/seed0
[ -f $R/generator/seed0/best.pt ] || { rm -rf $R/generator; mv $R/generator-b98 $R/generator; }
train inverse ${TF:-1.2} --out $R/inverse/seed0
train landmark-to-motor ${TL:-0.8} --out $R/landmark-to-motor/seed0
train inverse 1 --max-iters 100 --out $R/inverse-ri100/seed0
python3 .gpu/score.py $DATA $R ${DEV:-cuda} $OUT/score.json
el scored
nvidia-smi --query-gpu=memory.used --format=csv,noheader 2>/dev/null
