"""Train the folds of an experiment; write checkpoints, logs and the out-of-fold predictions.

    python src/train.py EXP [--fold K] [--max-steps N] [--no-merge] [-o field=value ...]
    torchrun --standalone --nproc_per_node N src/train.py EXP ...   # DDP, N processes

Started again after a crash or a kill, it resumes each fold from its last checkpoint
(models/EXP/fold<K>.last.pt) and ends as if it had never stopped.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

import distributed
from atomic import write_csv, write_json
from augment import build_wave_augment
from competitions import competition_for
from configs import experiment_cli
from datasets import (EpochSampler, RecordingWindows, SedDataset, class_balanced_weights,
                      fold_split, load_train_table, multi_hot, negative_recordings, out_of_fold)
from distributed import all_gather, is_main, per_rank_batch, print0, shard
from engine import predict_timelines, save_checkpoint, seed_everything
from losses import Distill, build_loss
from metrics import macro_auc, score_all
from models import build_model
from oof import merge_folds, model_tag, recording_rows, run_dir, save_fold_part
from postprocess import temporal_rows
from progress import train_bar
from timeline import recording_score
from runinfo import save_run
from training import FoldTrainer


def validate(cfg, comp, models, valid_df, y_valid,
             device) -> tuple[dict, np.ndarray, list[np.ndarray]]:
    """Whole validation recordings through the model (or the mean of a seed bag's models, as
    infer.py means folds) in sliding windows, then scored. Under torchrun each rank predicts
    its share of the recordings and every rank scores them all."""
    mine = shard(len(valid_df))
    windows = RecordingWindows.from_config(valid_df.cache_path.iloc[mine], cfg)  # as infer.py
    fps = cfg.sample_rate / cfg.hop_length
    models = models if isinstance(models, list) else [models]
    part = {mine[i]: (recording_score(timeline, cfg.infer_recording),
                      temporal_rows(cfg.infer_temporal, recording_rows(timeline, fps)))
            for i, (timeline,) in predict_timelines(models, windows, cfg, device, "valid",
                                                    ensemble=True)}
    return score_recordings(cfg, comp, y_valid, {i: v for p in all_gather(part)
                                                 for i, v in p.items()})


def score_recordings(cfg, comp, y_valid: np.ndarray,
                     results: dict) -> tuple[dict, np.ndarray, list[np.ndarray]]:
    """`results[i]` = (max over recording i's timeline, its 5-s rows): the LWLRAP, F1, mAP and
    top-1 meters per recording, the competition's own metric, and `window_auc`, the macro AUC
    over 5-s rows labelled with their recording's labels (BirdCLEF's rows). Returns the
    scores, the recording predictions and the rows (the row-level OOF)."""
    preds = np.stack([results[i][0] for i in range(len(y_valid))])
    rows = [results[i][1] for i in range(len(y_valid))]
    window_truth = np.concatenate([np.repeat(y_valid[i:i + 1], len(r), axis=0)
                                   for i, r in enumerate(rows)])
    scores = score_all(y_valid, preds, cfg.threshold)
    scores["window_auc"] = macro_auc(window_truth, np.concatenate(rows))
    if comp.metric not in scores:  # e.g. padded cmAP; LWLRAP is already there
        scores[comp.metric] = comp.score(y_valid, preds)
    return scores, preds, rows


def train_loader(cfg, n_classes: int, train_df, events, seed: int, device: torch.device,
                 teacher=None) -> tuple[SedDataset, EpochSampler, DataLoader]:
    """`teacher`: (soft labels per recording, seconds per window), teacher.distillation_set's."""
    labels, window = teacher if teacher is not None else (None, 0.0)
    dataset = SedDataset(train_df, events, n_classes, cfg.sample_rate, cfg.duration,
                         cfg.hop_length, cfg.min_event_overlap, build_wave_augment(cfg.augment),
                         seed, cfg.label_smoothing, cfg.secondary_label, cfg.crop_pick,
                         labels, window, cfg.crop_pick_by)
    weights = class_balanced_weights(train_df["labels"], n_classes) if cfg.balanced else None
    sampler = EpochSampler(len(train_df), cfg.crops_per_file, weights, seed=seed,
                           num_replicas=distributed.world_size(), rank=distributed.rank())
    loader = DataLoader(dataset, batch_size=per_rank_batch(cfg.batch_size), sampler=sampler,
                        drop_last=True, num_workers=cfg.num_workers,
                        pin_memory=device.type == "cuda", persistent_workers=cfg.num_workers > 0,
                        generator=torch.Generator())  # keeps torch's global RNG untouched
    return dataset, sampler, loader


def build_trainer(cfg, n_classes: int, steps_per_epoch: int, device: torch.device) -> FoldTrainer:
    model = build_model(cfg, n_classes).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    model = distributed.wrap(model, device, cfg.sync_bn)
    loss = build_loss(cfg.loss, **cfg.loss_args)
    if cfg.distill_weight or cfg.distill_embedding:
        loss = Distill(loss, cfg.distill_weight, cfg.distill_loss, cfg.distill_temperature,
                       cfg.distill_embedding)
    return FoldTrainer(cfg, model, loss, steps_per_epoch, device)


def train_fold(cfg, comp, recordings, events, fold: int | None, device: torch.device,
               max_steps: int | None = None, member: int = 0) -> bool:
    """Train (or resume) one fold, or with `fold=None` one model on all recordings (the
    `full_fit` of final submissions: no validation, the last epoch's weights are kept);
    `member` j of a seed bag trains from seed + 1000 j with its `bag_overrides`. Returns
    False when stopped early by `max_steps`."""
    cfg = cfg.member(member)  # bag_overrides
    tag = model_tag(fold, member)
    seed = cfg.seed + (fold or 0) + 1000 * member
    bagged = cfg.seed_bag > 1  # each member's scores are its own; validate_bag scores the bag
    unscored = bagged and fold is not None and not cfg.validate_members  # kept after its last epoch
    seed_everything(seed)
    train_df, valid_df = fold_split(recordings, fold)
    n_classes = len(comp.classes)
    soft = None
    if cfg.distill_audio and not (cfg.distill_weight or cfg.distill_embedding):
        raise SystemExit("distill_audio trains only through the teacher's term: set "
                         "distill_weight (or distill_embedding) too")
    if cfg.distill_weight or cfg.distill_embedding or cfg.crop_pick_by == "teacher":
        import teacher

        train_df, soft = teacher.distillation_set(cfg, comp, train_df, valid_df)
    if cfg.negative_audio:
        if soft is not None:
            raise SystemExit("negative_audio with a teacher: not supported (the teacher has "
                             "no labels for it); drop one of them")
        train_df = pd.concat([train_df, negative_recordings(cfg)], ignore_index=True)
    trained_on = out_of_fold(train_df, valid_df, tag)
    _, sampler, loader = train_loader(cfg, n_classes, train_df, events, seed, device, soft)
    y_valid = multi_hot(valid_df["labels"], n_classes)

    trainer = build_trainer(cfg, n_classes, len(loader), device)
    distributed.decorrelate(seed)
    out, state_path = run_dir(cfg), run_dir(cfg) / f"{tag}.last.pt"
    if trainer.load(state_path):
        print0(f"{tag}: resuming at epoch {trainer.epoch} step {trainer.step}"
               if trainer.epoch < cfg.epochs else f"{tag}: already trained")
    steps_left, metric = max_steps, cfg.metric or comp.metric

    def evaluate() -> tuple[dict, np.ndarray, list]:  # a full fit has nothing to validate on
        if not len(valid_df) or unscored:
            return {}, y_valid, []
        return validate(cfg, comp, trainer.eval_model, valid_df, y_valid, device)

    def keep(scores: dict, preds: np.ndarray, rows: list) -> None:
        if not is_main():
            return
        save_checkpoint(out / f"{tag}.pt", trainer.eval_model, epoch=trainer.epoch - 1,
                        score=scores.get(metric), classes=comp.classes,
                        config=cfg.to_dict(), trained_on=trained_on)
        if fold is not None and not unscored:
            save_fold_part(cfg, fold, valid_df["id"].tolist(), preds, rows,
                           member if bagged else None)
            write_json(out / f"scores_{tag}{'_bag0' if bagged and not member else ''}.json",
                       {"epoch": trainer.epoch - 1, **scores})

    while trainer.epoch < cfg.epochs:
        epoch = trainer.epoch
        sampler.set_epoch(epoch, start=trainer.step * loader.batch_size)
        for batch in train_bar(loader, f"{tag} epoch {epoch}", trainer, metric,
                               disable=not is_main()):
            trainer.train_step(batch)
            if steps_left is not None:
                steps_left -= 1
            if trainer.step % cfg.checkpoint_every == 0 or steps_left == 0:
                trainer.save(state_path)
            if steps_left == 0:
                print0(f"{tag}: stopped after --max-steps; run again to resume")
                return False
        stats = trainer.end_epoch()
        last = trainer.epoch == cfg.epochs
        due = last or (epoch + 1) % cfg.valid_every == 0
        scores, preds, rows = evaluate() if due else ({}, y_valid, [])
        trainer.log.append({"epoch": epoch, **stats, **scores})
        improved = bool(scores) and scores[metric] > trainer.best
        if improved:
            trainer.best = scores[metric]
        if not cfg.average_last and (improved or (last and not scores)):
            keep(scores, preds, rows)
        print0(f"{tag} epoch {epoch}: loss {stats['loss']:.4f} "
               + " ".join(f"{k} {v:.4f}" for k, v in scores.items()) + (" *" if improved else ""))
        if last and cfg.average_last:  # PSLA: the mean of the last epochs' weights
            trainer.eval_model.load_state_dict(trainer.averaged_weights())
            scores, preds, rows = evaluate()
            trainer.log.append({"epoch": f"mean of last {len(trainer.recent)}", **scores})
            keep(scores, preds, rows)
            print0(f"{tag}: mean of the last {len(trainer.recent)} epochs: "
                   + " ".join(f"{k} {v:.4f}" for k, v in scores.items()))
        if is_main():
            write_csv(out / f"log_{tag}.csv", pd.DataFrame(trainer.log))
        trainer.save(state_path)
    return True


def validate_bag(cfg, comp, recordings, fold: int, device: torch.device) -> None:
    """A seed bag's fold: its members' mean scored on the validation recordings, written as
    the fold's OOF part and scores (each member keeps its own beside them)."""
    from backends import load_fold_models

    _, valid_df = fold_split(recordings, fold)
    models = load_fold_models(cfg, len(comp.classes), device, fold)
    y_valid = multi_hot(valid_df["labels"], len(comp.classes))
    scores, preds, rows = validate(cfg, comp, models, valid_df, y_valid, device)
    if is_main():
        save_fold_part(cfg, fold, valid_df["id"].tolist(), preds, rows)
        write_json(run_dir(cfg) / f"scores_fold{fold}.json", {"members": len(models), **scores})
    print0(f"fold{fold} bag of {len(models)}: "
           + " ".join(f"{k} {v:.4f}" for k, v in scores.items()))


def main(argv: list[str] | None = None) -> None:
    def add_arguments(parser):
        parser.add_argument("--fold", type=int, action="append", help="train only this fold")
        parser.add_argument("--max-steps", type=int, help="stop after N steps (resumable)")
        parser.add_argument("--no-merge", action="store_true",
                            help="leave the OOF merge to a later run (one fold per GPU)")

    cfg, args = experiment_cli(__doc__, argv, add_arguments)
    for member in range(cfg.seed_bag):
        cfg.member(member)  # a bad bag_overrides stops here, not after the first members
    comp = competition_for(cfg)
    recordings, events = load_train_table(cfg, comp)
    device = distributed.setup(cfg.device)  # torchrun's process group, if any
    if is_main():
        save_run(cfg)  # config.json, run.json: diff from parent, git commit, package versions
    try:
        if cfg.full_fit:
            for member in range(cfg.seed_bag):
                if not train_fold(cfg, comp, recordings, events, None, device, args.max_steps,
                                  member):
                    return
            return
        folds = args.fold or list(cfg.train_folds if cfg.train_folds is not None
                                  else range(cfg.n_folds))
        if cfg.backbone in ("birdnet", "birdnet_head"):  # the optional teacher (teacher.py)
            import teacher

            teacher.run_folds(cfg, comp, recordings, folds)
        else:
            for fold in folds:
                for member in range(cfg.seed_bag):
                    if not train_fold(cfg, comp, recordings, events, fold, device,
                                      args.max_steps, member):
                        return
                if cfg.seed_bag > 1:
                    validate_bag(cfg, comp, recordings, fold, device)
        if is_main() and not args.no_merge:
            oof = merge_folds(cfg, comp, recordings)
            print(f"{cfg.name}: cv_{oof.metric}={oof.cv:.4f} over folds "
                  + ", ".join(f"{k}: {v:.4f}" for k, v in oof.fold_cv.items()))
    finally:
        distributed.cleanup()


if __name__ == "__main__":
    main()
