#!/usr/bin/env bash
# bash run.sh EXP [-o field=value ...]: prepare -> train -> infer -> score for one experiment.
# EXP is a name under src/configs/ (exp001) or a path to a config file. Outputs go under the
# current directory (input/, models/, oof/, submissions/). The last line is machine-readable:
#   EXP cv_<metric>=... [test_<metric>=...] oof=oof/EXP.npy submission=submissions/EXP.csv
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/src"
exp=${1:?usage: bash run.sh EXP [-o field=value ...]}
shift
py=${PYTHON:-python3}

read -r data_dir demo < <(PYTHONPATH="$src" "$py" -c "
import sys
from configs import load_config
cfg = load_config(sys.argv[1])
print(cfg.data_dir, cfg.demo or '-')" "$exp")
if [ ! -e "$data_dir" ] && [ "$demo" != "-" ]; then
    echo "== $data_dir not found: generating the $demo demo competition"
    "$py" "$src/make_demo.py" --layout "$demo" --out "$data_dir"
fi
echo "== prepare $exp"; "$py" "$src/prepare.py" "$exp" "$@"
echo "== train $exp";   "$py" "$src/train.py" "$exp" "$@"
echo "== infer $exp";   "$py" "$src/infer.py" "$exp" "$@"
"$py" "$src/score.py" "$exp" "$@"
