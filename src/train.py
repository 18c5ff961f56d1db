"""Train the folds of an experiment; write checkpoints, logs and the out-of-fold predictions.

    python src/train.py EXP [--fold K] [-o field=value ...]
"""
from __future__ import annotations


import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from atomic import write_csv, write_json
from augment import build_wave_augment
from competitions import get_competition
from configs import experiment_cli
from datasets import RecordingWindows, SedDataset, load_train_table, multi_hot
from engine import (build_optimizer, predict_timelines, resolve_device, save_checkpoint,
                    seed_everything, train_one_epoch, warmup_cosine)
from losses import build_loss
from metrics import score_all
from models import build_model
from oof import merge_folds, run_dir, save_fold_part


def train_fold(cfg, comp, recordings, events, fold: int, device: torch.device) -> None:
    seed_everything(cfg.seed + fold)
    train_df, valid_df = recordings[recordings.fold != fold], recordings[recordings.fold == fold]
    train_set = SedDataset(train_df, events, len(comp.classes), cfg.sample_rate, cfg.duration,
                           cfg.crops_per_file, cfg.min_event_overlap,
                           build_wave_augment(cfg.augment), seed=cfg.seed + fold)
    loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, drop_last=True,
                        num_workers=cfg.num_workers, pin_memory=device.type == "cuda",
                        persistent_workers=cfg.num_workers > 0,
                        generator=torch.Generator().manual_seed(cfg.seed + fold))
    valid_set = RecordingWindows(valid_df.cache_path, cfg.sample_rate, cfg.duration, cfg.infer_hop)
    y_valid = multi_hot(valid_df["labels"], len(comp.classes))

    model = build_model(cfg, len(comp.classes)).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    criterion = build_loss(cfg.loss)
    optimizer = build_optimizer(cfg, model)
    steps = cfg.epochs * len(loader)
    scheduler = warmup_cosine(optimizer, int(cfg.warmup_epochs * len(loader)), steps)
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.amp and device.type == "cuda")

    out, best, log = run_dir(cfg), -np.inf, []
    for epoch in range(cfg.epochs):
        train_set.epoch = epoch
        stats = train_one_epoch(model, loader, criterion, optimizer, scheduler, scaler, device,
                                cfg, desc=f"fold {fold} epoch {epoch}")
        preds = np.zeros_like(y_valid)
        for i, (timeline,) in predict_timelines([model], valid_set, cfg, device, "valid"):
            preds[i] = timeline.max(axis=0)
        scores = score_all(y_valid, preds, cfg.threshold)
        log.append({"epoch": epoch, **stats, **scores})
        improved = scores[cfg.metric] > best
        if improved:
            best = scores[cfg.metric]
            save_checkpoint(out / f"fold{fold}.pt", model, epoch=epoch, score=best,
                            classes=comp.classes, config=cfg.to_dict())
            save_fold_part(cfg, fold, valid_df["id"].tolist(), preds)
        write_csv(out / f"log_fold{fold}.csv", pd.DataFrame(log))
        print(f"fold {fold} epoch {epoch}: loss {stats['loss']:.4f} "
              + " ".join(f"{k} {v:.4f}" for k, v in scores.items()) + (" *" if improved else ""))


def main(argv: list[str] | None = None) -> None:
    cfg, args = experiment_cli(__doc__, argv, lambda p: p.add_argument(
        "--fold", type=int, action="append", help="train only this fold (repeatable)"))
    comp = get_competition(cfg.competition, cfg.data_dir)
    recordings, events = load_train_table(cfg, comp)
    device = resolve_device(cfg.device)
    run_dir(cfg).mkdir(parents=True, exist_ok=True)
    write_json(run_dir(cfg) / "config.json", cfg.to_dict())

    folds = args.fold or list(cfg.train_folds if cfg.train_folds is not None
                              else range(cfg.n_folds))
    for fold in folds:
        train_fold(cfg, comp, recordings, events, fold, device)
    oof = merge_folds(cfg, comp, recordings)
    print(f"{cfg.name}: cv_{oof.metric}={oof.cv:.4f} over folds "
          + ", ".join(f"{k}: {v:.4f}" for k, v in oof.fold_cv.items()))


if __name__ == "__main__":
    main()
