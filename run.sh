#!/usr/bin/env bash
# bash run.sh EXP [-o field=value ...]: prepare -> train -> infer -> score for one experiment.
# EXP is a name under src/configs/ (exp001) or a path to a config file. Outputs go under the
# current directory (input/, models/, oof/, submissions/). The last line is machine-readable:
#   EXP cv_<metric>=... [test_<metric>=...] oof=oof/EXP.npy submission=submissions/EXP.csv
# Training on several GPUs, either way:
#   GPUS=0,1 bash run.sh EXP   one process per GPU, the folds dealt out between them (fold k on
#                              GPU k mod 2), logs in models/<name>/train_gpu<g>.log; then their
#                              out-of-fold predictions are merged
#   NPROC=2 bash run.sh EXP    each fold in turn by 2 processes (torchrun, DistributedDataParallel)
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

# One train.py per GPU of $GPUS, each on its share of the folds, in parallel; then one more run,
# which finds every fold trained and merges their out-of-fold predictions (a full_fit trains).
train_per_gpu() {
    local run_dir folds gpus pids=() failed=0 i k mine log entry
    read -r run_dir folds < <(PYTHONPATH="$src" "$py" -c "
import sys
from configs import experiment_cli
from oof import run_dir
cfg, _ = experiment_cli('run.sh', sys.argv[1:])
folds = cfg.train_folds if cfg.train_folds is not None else range(cfg.n_folds)
print(run_dir(cfg), *([] if cfg.full_fit else folds))" "$exp" "$@")
    read -r -a folds <<< "$folds"
    IFS=, read -r -a gpus <<< "$GPUS"
    mkdir -p "$run_dir"
    for i in "${!gpus[@]}"; do
        mine=()
        for ((k = i; k < ${#folds[@]}; k += ${#gpus[@]})); do mine+=(--fold "${folds[k]}"); done
        [ ${#mine[@]} -gt 0 ] || continue
        log="$run_dir/train_gpu${gpus[i]}.log"
        echo "GPU ${gpus[i]}: ${mine[*]} (log: $log)"
        CUDA_VISIBLE_DEVICES=${gpus[i]} "$py" "$src/train.py" "$exp" "$@" "${mine[@]}" --no-merge \
            > "$log" 2>&1 &
        pids+=("$!:$log")
    done
    for entry in "${pids[@]}"; do
        log=${entry#*:}
        wait "${entry%%:*}" || { failed=1; tail -n 20 "$log" >&2; echo "failed: see $log" >&2; }
    done
    [ "$failed" = 0 ] || exit 1
    "$py" "$src/train.py" "$exp" "$@"
}

echo "== prepare $exp"; "$py" "$src/prepare.py" "$exp" "$@"
echo "== train $exp"
if [ -n "${GPUS:-}" ] && [ -n "${NPROC:-}" ]; then
    echo "set GPUS (one fold per GPU) or NPROC (DDP), not both" >&2; exit 2
elif [ -n "${GPUS:-}" ]; then
    train_per_gpu "$@"
elif [ -n "${NPROC:-}" ]; then
    "$py" -m torch.distributed.run --standalone --nproc_per_node "$NPROC" "$src/train.py" "$exp" "$@"
else
    "$py" "$src/train.py" "$exp" "$@"
fi
echo "== infer $exp";   "$py" "$src/infer.py" "$exp" "$@"
"$py" "$src/score.py" "$exp" "$@"
