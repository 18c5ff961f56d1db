"""Train the folds of an experiment; write checkpoints, logs and the out-of-fold predictions.

    python src/train.py EXP [--fold K] [--max-steps N] [--no-merge] [-o field=value ...]
    torchrun --standalone --nproc_per_node N src/train.py EXP ...   # DDP, N processes

Started again after a crash or a kill, it resumes each fold from its last checkpoint
(models/EXP/fold<K>.last.pt) and ends as if it had never stopped.
"""
from __future__ import annotations

import torch

import distributed
from atomic import run_script, write_json
from backends import load_fold_models
from competitions import competition_for
from configs import experiment_cli
from distributed import is_main, print0
from engine import seed_everything
from folds import fold_split, out_of_fold
from oof import merge_folds, model_tag, run_dir, save_fold_part
from progress import train_bar
from recordings import load_train_table, multi_hot, training_set
from runinfo import save_run
from scoring import validate
from teacher import FOLD_RUNNERS, crop_labels
from training import FoldRun, build_trainer, train_loader


def train_fold(cfg, comp, recordings, events, fold: int | None, device: torch.device,
               max_steps: int | None = None, member: int = 0) -> bool:
    """Train (or resume) one fold, or with `fold=None` one model on all recordings (the
    `full_fit` of final submissions: no validation, the last epoch's weights are kept);
    `member` j of a seed bag trains from seed + 1000 j with its `bag_overrides`. Returns
    False when stopped early by `max_steps`."""
    cfg = cfg.member(member)
    tag, seed = model_tag(fold, member), cfg.seed + (fold or 0) + 1000 * member
    seed_everything(seed)
    train_df, valid_df = fold_split(recordings, fold)
    train_set = training_set(cfg, train_df, valid_df)  # + negatives, unlabeled audio
    trained_on = out_of_fold(train_set, valid_df, tag)
    _, sampler, loader = train_loader(cfg, len(comp.classes), train_set, events, seed, device,
                                      crop_labels(cfg, comp, train_set, fold, device), tag)
    trainer = build_trainer(cfg, len(comp.classes), len(loader), device, tag)
    distributed.decorrelate(seed)
    run = FoldRun(cfg, comp, fold, member, valid_df, trainer, device, trained_on)
    run.resume()
    steps_left = max_steps
    while trainer.epoch < cfg.epochs:
        sampler.set_epoch(trainer.epoch, start=trainer.step * loader.batch_size)
        for batch in train_bar(loader, f"{tag} epoch {trainer.epoch}", trainer, run.metric,
                               disable=not is_main()):
            trainer.train_step(batch)
            steps_left = None if steps_left is None else steps_left - 1
            if trainer.step % cfg.checkpoint_every == 0 or steps_left == 0:
                trainer.save(run.state_path)
            if steps_left == 0:
                print0(f"{tag}: stopped after --max-steps; run again to resume")
                return False
        run.end_epoch()
    return True


def validate_bag(cfg, comp, recordings, fold: int, device: torch.device) -> None:
    """A seed bag's fold: its members' mean scored on the validation recordings, written as
    the fold's OOF part and scores (each member keeps its own beside them)."""
    _, valid_df = fold_split(recordings, fold)
    models = load_fold_models(cfg, comp.classes, device, fold)
    y_valid = multi_hot(valid_df["labels"], len(comp.classes))
    scores, preds, rows = validate(cfg, comp, models, valid_df, y_valid, device)
    if is_main():
        save_fold_part(cfg, fold, valid_df["id"].tolist(), preds, rows)
        write_json(run_dir(cfg) / f"scores_fold{fold}.json", {"members": len(models), **scores})
    print0(f"fold{fold} bag of {len(models)}: "
           + " ".join(f"{k} {v:.4f}" for k, v in scores.items()))


def train_folds(cfg, comp, recordings, events, folds: list, device: torch.device,
                max_steps: int | None = None) -> bool:
    """Every member of each fold (`None`: the full fit), then each bag's mean; False when
    stopped by `max_steps`."""
    for fold in folds:
        for member in range(cfg.seed_bag):
            if not train_fold(cfg, comp, recordings, events, fold, device, max_steps, member):
                return False
        if cfg.seed_bag > 1 and fold is not None:
            validate_bag(cfg, comp, recordings, fold, device)
    return True


def main(argv: list[str] | None = None) -> None:
    def add_arguments(parser):
        parser.add_argument("--fold", type=int, action="append", help="train only this fold")
        parser.add_argument("--max-steps", type=int, help="stop after N steps (resumable)")
        parser.add_argument("--no-merge", action="store_true",
                            help="leave the OOF merge to a later run (one fold per GPU)")

    cfg, args = experiment_cli(__doc__, argv, add_arguments)
    comp = competition_for(cfg)
    recordings, events = load_train_table(cfg, comp)
    device = distributed.setup(cfg.device)  # torchrun's process group, if any
    if is_main():
        save_run(cfg)  # config.json, run.json: diff from parent, git commit, package versions
    folds = [None] if cfg.full_fit else args.fold or list(
        cfg.train_folds if cfg.train_folds is not None else range(cfg.n_folds))
    run_folds = FOLD_RUNNERS.get(cfg.backbone, train_folds)  # a teacher runs its own folds
    try:
        finished = run_folds(cfg, comp, recordings, events, folds, device, args.max_steps)
        if finished and is_main() and not cfg.full_fit and not args.no_merge:
            oof = merge_folds(cfg, comp, recordings)
            print(f"{cfg.name}: cv_{oof.metric}={oof.cv:.4f} over folds "
                  + ", ".join(f"{k}: {v:.4f}" for k, v in oof.fold_cv.items()))
    finally:
        distributed.cleanup()


if __name__ == "__main__":
    run_script(main)
