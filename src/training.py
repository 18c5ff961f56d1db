"""Training one fold: optimizer and schedule by name, mixup, EMA, averaging of the last epochs,
and a resumable state, so a run killed at any step continues where it stopped and ends with
the same weights and metrics as one that was never interrupted.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
import torch.nn as nn
from torch.utils.data import DataLoader
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm
from transformers.optimization import get_scheduler

from atomic import atomic_path, write_csv, write_json
from augment import build_batch_augment, build_wave_augment, mix
from configs.base import SCHEDULERS
from datasets import EpochSampler, SedDataset, class_balanced_weights
from distributed import (all_gather, barrier, is_main, per_rank_batch, print0, rank, unwrap,
                         world_size, wrap)
from engine import autocast, save_checkpoint
from losses import Distill, build_loss
from metrics import MetricMeter, NonFiniteScores
from models import build_model
from oof import model_tag, run_dir, save_fold_part
from param_groups import freeze_trunk, optimizer_groups
from recordings import multi_hot
from scoring import validate

RUN_ONLY = {"device", "num_workers", "checkpoint_every", "train_folds"}  # may change on resume
MAX_BAD_STEPS = 3  # non-finite steps in a row that are skipped before the fold is stopped
OPTIMIZERS = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}


def build_optimizer(cfg, model: nn.Module) -> torch.optim.Optimizer:
    if cfg.optimizer not in OPTIMIZERS:
        raise SystemExit(f"unknown optimizer {cfg.optimizer!r}; known: {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[cfg.optimizer](optimizer_groups(unwrap(model), cfg.lr, cfg.layer_decay),
                                     lr=cfg.lr, weight_decay=cfg.weight_decay)


def warmup_schedule(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int,
                    decay: str = "cosine") -> torch.optim.lr_scheduler.LambdaLR:
    """transformers' schedule `decay` (linear warm-up from 0, then e.g. cosine or linear decay
    to 0), stepped per batch: a LambdaLR, so a resumed run restores it from its step alone."""
    if decay not in SCHEDULERS:
        raise SystemExit(f"unknown scheduler {decay!r}; known: {SCHEDULERS}")
    return get_scheduler(decay, optimizer, num_warmup_steps=warmup_steps,
                         num_training_steps=total_steps)


class Mixup:
    """Mixup (Zhang et al. 2018) as PANNs and the birdcall winners used it: each example is
    mixed with another of the batch with weight lam ~ Beta(alpha, alpha), on the waveform or on
    the log-mel; labels are mixed with the same weights, or united (a call stays a call
    however quiet the mix made it). Draws use torch's global generator, saved on resume."""

    def __init__(self, alpha: float = 0.5, p: float = 1.0, on: str = "wave",
                 labels: str = "mix") -> None:
        if on not in ("wave", "logmel") or labels not in ("mix", "union"):
            raise SystemExit("mixup: on must be wave|logmel and labels mix|union")
        self.beta = torch.distributions.Beta(alpha, alpha)
        self.p, self.on, self.labels = p, on, labels

    def __call__(self, batch: dict) -> tuple[dict, dict]:
        """Returns the mixed batch and the model's extra arguments."""
        n = len(batch["wave"])
        perm = torch.randperm(n)
        lam = self.beta.sample((n,))
        lam = torch.where(torch.rand(n) < self.p, lam, torch.ones(n))
        perm, lam = perm.to(batch["wave"].device), lam.to(batch["wave"].device)
        out = dict(batch)
        for key in [k for k in ("target", "frame_target", "teacher", "teacher_embedding")
                    if k in batch]:
            if self.labels == "mix" or key == "teacher_embedding":
                out[key] = mix(batch[key], perm, lam)
            else:
                out[key] = torch.maximum(batch[key], torch.where(
                    (lam < 1).view(-1, *[1] * (batch[key].dim() - 1)), batch[key][perm], 0))
        out["weight"] = torch.minimum(batch["weight"], batch["weight"][perm])
        if "teacher_weight" in batch:  # a mix is taught only where both crops have soft labels
            out["teacher_weight"] = torch.minimum(batch["teacher_weight"],
                                                  batch["teacher_weight"][perm])
        if self.on == "wave":
            out["wave"] = mix(batch["wave"], perm, lam)
            return out, {}
        return out, {"mixup": (perm, lam)}


def no_call_crops(batch: dict) -> torch.Tensor:
    """Per crop: True where its labels say no class is present (a negative's crop), not where
    it merely has none (unlabeled audio, whose `weight` is 0)."""
    return (batch["target"].sum(dim=1) == 0) & (batch["weight"].sum(dim=1) > 0)


class FoldTrainer:
    """Owns everything a resumed run needs: model, optimizer, schedule, scaler, EMA, the epoch
    and step reached, the running epoch statistics, the log and the RNG state.

    `model` may be wrapped in DistributedDataParallel (distributed.wrap): training steps go
    through the wrapper, while saving, evaluation and the EMA use the module inside. Under
    torchrun every rank calls `save`, `end_epoch` and `load` at the same steps: the epoch
    statistics are gathered from all ranks, each rank's RNG state is kept, rank 0 writes."""

    def __init__(self, cfg, model: nn.Module, criterion: nn.Module, steps_per_epoch: int,
                 device: torch.device, name: str = "training") -> None:
        self.cfg, self.model, self.criterion, self.device = cfg, model, criterion, device
        self.name = name  # the fold's tag, for messages
        if cfg.freeze_epochs and world_size() > 1:
            raise SystemExit("freeze_epochs under torchrun: not supported (DDP expects the "
                             "same parameters to train at every step); set freeze_epochs = 0")
        self.optimizer = build_optimizer(cfg, model)
        self.scheduler = warmup_schedule(self.optimizer, int(cfg.warmup_epochs * steps_per_epoch),
                                         cfg.epochs * steps_per_epoch, cfg.scheduler)
        self.scaler = torch.amp.GradScaler(device.type,
                                           enabled=cfg.amp == "fp16" and device.type == "cuda")
        self.ema = (AveragedModel(unwrap(model), multi_avg_fn=get_ema_multi_avg_fn(cfg.ema),
                                  use_buffers=True) if cfg.ema else None)
        self.mixup = Mixup(**cfg.mixup) if cfg.mixup else None
        self.batch_augment = build_batch_augment(cfg.batch_augment)
        self.epoch, self.step = 0, 0
        self.best, self.log = -np.inf, []
        self.recent: list[dict] = []  # weights at the end of the last `average_last` epochs
        self.running = {"loss": 0.0, "count": 0, "truth": [], "scores": []}
        self.bad_steps = 0  # non-finite steps in a row, skipped
        self.last_finite: tuple[int, int, float] | None = None  # (epoch, step, loss)

    @property
    def eval_model(self) -> nn.Module:
        return self.ema.module if self.ema is not None else unwrap(self.model)

    def train_step(self, batch: dict) -> None:
        """One optimizer step. A step whose loss, outputs or gradients are not finite changes
        no weight (as GradScaler skips fp16 overflows, which stay its own business); after
        MAX_BAD_STEPS of them in a row the fold stops, since its weights have diverged."""
        self.model.train()
        if self.cfg.freeze_epochs:
            freeze_trunk(unwrap(self.model), self.epoch < self.cfg.freeze_epochs)
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        if self.batch_augment is not None:
            batch["wave"] = self.batch_augment(batch["wave"], no_call_crops(batch))
        extra = {}
        if self.mixup is not None:
            batch, extra = self.mixup(batch)
        with autocast(self.device, self.cfg.amp):
            output = self.model(batch["wave"], **extra)
        loss = self.criterion(output, batch)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()  # on every rank, whatever the checks say (DDP)
        checks = finite_flags(loss, output)
        if self.cfg.grad_clip:
            self.scaler.unscale_(self.optimizer)
            norm = nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        elif not self.scaler.is_enabled():
            norm = grad_norm(self.model)
        if not self.scaler.is_enabled():  # with fp16, GradScaler skips inf gradients itself
            checks = torch.cat([checks, torch.isfinite(norm).reshape(1)])
        *flags, loss_value = torch.cat([agree(checks).float(),  # one read, one sync
                                        loss.detach().float().reshape(1)]).tolist()
        if not all(flags):
            self.skip_step(flags)
            return
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        n = len(batch["wave"])
        self.running["loss"] += loss_value * n
        self.running["count"] += n
        self.running["truth"].append((batch["target"] > 0.5).float().cpu().numpy())
        self.running["scores"].append(output["clipwise_output"].detach().float().cpu().numpy())
        self.bad_steps, self.last_finite = 0, (self.epoch, self.step, loss_value)
        self.step += 1

    def skip_step(self, flags: list[bool]) -> None:
        """Leaves the weights as they were (the schedule and the batch position move on, as
        for a step GradScaler skips). The forward pass has already updated BatchNorm's running
        statistics: when those went non-finite, nothing is left to skip to, and the fold stops
        at once; otherwise it stops after MAX_BAD_STEPS bad steps in a row."""
        what = "non-finite " + ", ".join(
            name for name, ok in zip(("loss", "model output", "gradient norm"), flags) if not ok)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler.is_enabled():  # forget this step's unscaling, keep the scale
            self.scaler.update(self.scaler.get_scale())
        self.scheduler.step()
        self.bad_steps += 1
        broken = nonfinite_weights(unwrap(self.model))
        if not agree(torch.tensor([broken == 0], device=self.device)).all():
            raise self.diverged(f"{what}, which left {broken} non-finite value(s) in the "
                                "weights and BatchNorm statistics")
        if self.bad_steps >= MAX_BAD_STEPS:
            raise self.diverged(f"{what} in {self.bad_steps} steps in a row")
        if is_main():
            tqdm.write(f"{self.name} epoch {self.epoch} step {self.step}: {what}; step skipped, "
                       f"weights unchanged ({self.bad_steps} in a row; the fold stops at "
                       f"{MAX_BAD_STEPS})")
        self.step += 1

    def diverged(self, what: str, at: str | None = None) -> SystemExit:
        """The stop of a fold whose weights went non-finite: where (`at`, by default the
        current step), the last finite loss, and what to change."""
        at = at or f"at epoch {self.epoch} step {self.step}"
        last = ("no finite loss before it" if self.last_finite is None else
                "last finite loss {2:.4f} at epoch {0} step {1}".format(*self.last_finite))
        fp16 = ", or amp bf16 instead of fp16" if self.scaler.is_enabled() else ""
        return SystemExit(f"{self.name}: training diverged {at}: {what} ({last}); no "
                          "checkpoint was written from non-finite weights; lower lr (now "
                          f"{self.cfg.lr:g}) or set a smaller grad_clip (now "
                          f"{self.cfg.grad_clip}){fp16}")

    def check_weights(self, at: str | None = None) -> None:
        """Stops the fold rather than let non-finite weights reach a checkpoint (the resume
        state, or with `at` the kept model after that epoch)."""
        models = [unwrap(self.model)] + ([self.ema.module] if self.ema is not None else [])
        if bad := sum(nonfinite_weights(m) for m in models):
            raise self.diverged(f"{bad} non-finite weight value(s)", at)

    def end_epoch(self) -> dict[str, float]:
        """Training statistics of the epoch; moves on to the next one."""
        running = merge_running(all_gather(self.running))
        meter = MetricMeter(self.cfg.threshold)
        for t, s in zip(running["truth"], running["scores"]):
            meter.update(t, s)
        count = running["count"]  # 0 only when every step of the epoch was skipped
        stats = {"loss": running["loss"] / count if count else float("nan"),
                 **{f"train_{k}": v for k, v in meter.compute().items()}}
        self.running = {"loss": 0.0, "count": 0, "truth": [], "scores": []}
        if self.cfg.average_last:
            weights = {k: v.detach().clone() for k, v in self.eval_model.state_dict().items()}
            self.recent = (self.recent + [weights])[-self.cfg.average_last:]
        self.epoch, self.step = self.epoch + 1, 0
        return stats

    def averaged_weights(self) -> dict[str, torch.Tensor]:
        """Mean of the last epochs' weights (integer buffers taken from the newest)."""
        out = {}
        for key, newest in self.recent[-1].items():
            if newest.is_floating_point():
                out[key] = torch.stack([w[key] for w in self.recent]).mean(0)
            else:
                out[key] = newest
        return out

    def state_dict(self) -> dict:
        return {"model": unwrap(self.model).state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
                "ema": self.ema.state_dict() if self.ema is not None else None,
                "epoch": self.epoch, "step": self.step, "best": self.best, "log": self.log,
                "bad_steps": self.bad_steps, "last_finite": self.last_finite,
                "recent": self.recent, "running": merge_running(all_gather(self.running)),
                "rng": all_gather(torch.get_rng_state()),  # one per rank
                "cuda_rng": all_gather(torch.cuda.get_rng_state())
                if self.device.type == "cuda" else None,
                "config": self.cfg.to_dict()}

    def save(self, path: Path) -> None:
        self.check_weights()  # the same weights on every rank: all stop together
        state = self.state_dict()  # on every rank: it gathers from all of them
        if is_main():
            with atomic_path(path) as tmp:
                torch.save(state, tmp)
        barrier()  # written, for every rank

    def load(self, path: Path) -> bool:
        """Resume from `path` when it was written by a run of the same config."""
        if not path.exists():
            return False
        state = torch.load(path, map_location="cpu", weights_only=False)
        if {k: v for k, v in state["config"].items() if k not in RUN_ONLY} != {
                k: v for k, v in self.cfg.to_dict().items() if k not in RUN_ONLY}:
            tqdm.write(f"{path}: written with another config; starting this fold afresh")
            return False
        unwrap(self.model).load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.epoch, self.step, self.best = state["epoch"], state["step"], state["best"]
        self.log, self.recent = state["log"], state["recent"]
        self.bad_steps, self.last_finite = state.get("bad_steps", 0), state.get("last_finite")
        # the epoch's statistics so far from all ranks go to rank 0, which end_epoch merges
        self.running = state["running"] if is_main() else merge_running([])
        if rank() < len(state["rng"]):  # a rank added since keeps its fresh stream
            torch.set_rng_state(state["rng"][rank()])
            if state.get("cuda_rng") is not None and self.device.type == "cuda":
                torch.cuda.set_rng_state(state["cuda_rng"][rank()], self.device)
        return True


def nonfinite_weights(model: nn.Module) -> int:
    """How many values of a model's floating-point weights and buffers are NaN or inf."""
    counts = [(~torch.isfinite(t)).sum() for t in model.state_dict().values()
              if t.is_floating_point()]
    return int(torch.stack(counts).sum()) if counts else 0  # one read, not one per tensor


def grad_norm(model: nn.Module) -> torch.Tensor:
    """The global L2 norm of the gradients (clip_grad_norm_'s, without clipping)."""
    norms = [torch.linalg.vector_norm(p.grad.detach()) for p in model.parameters()
             if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(norms)) if norms else torch.zeros(())


def finite_flags(loss: torch.Tensor, output: dict) -> torch.Tensor:
    """[loss finite, outputs finite] as one tensor, read with one sync: the losses zero
    non-finite outputs, so a finite loss alone does not say the model is."""
    outputs = [output[k].detach() for k in ("clipwise_output", "framewise_output") if k in output]
    return torch.stack([torch.isfinite(loss.detach()).all(),
                        torch.stack([torch.isfinite(o).all() for o in outputs]).all()])


def agree(flags: torch.Tensor) -> torch.Tensor:
    """Each flag true on every rank, so DDP ranks skip the same steps."""
    if world_size() > 1:
        flags = flags.to(torch.int32)
        dist.all_reduce(flags, op=dist.ReduceOp.MIN)
    return flags.bool()


def merge_running(parts: list[dict]) -> dict:
    """The running epoch statistics of several ranks as one."""
    return {"loss": sum(p["loss"] for p in parts), "count": sum(p["count"] for p in parts),
            "truth": [t for p in parts for t in p["truth"]],
            "scores": [s for p in parts for s in p["scores"]]}


def train_loader(cfg, n_classes: int, train_df, events, seed: int, device: torch.device,
                 teacher: tuple | None = None, name: str = "training"
                 ) -> tuple[SedDataset, EpochSampler, DataLoader]:
    """The fold's crops, dealt by an EpochSampler (class-balanced with `balanced`) to this
    rank's share of the batch; `teacher` as SedDataset.from_config takes it. Stops when the
    crops fill no whole batch: with drop_last the fold would take no step and keep its
    untrained weights as if they had been trained."""
    batch = per_rank_batch(cfg.batch_size)
    check_one_batch(cfg, len(train_df), batch, name)
    dataset = SedDataset.from_config(cfg, train_df, events, n_classes, seed,
                                     build_wave_augment(cfg.augment), teacher)
    weights = class_balanced_weights(train_df["labels"], n_classes) if cfg.balanced else None
    sampler = EpochSampler(len(train_df), cfg.crops_per_file, weights, seed=seed,
                           num_replicas=world_size(), rank=rank())
    loader = DataLoader(dataset, batch_size=batch, sampler=sampler,
                        drop_last=True, num_workers=cfg.num_workers,
                        pin_memory=device.type == "cuda", persistent_workers=cfg.num_workers > 0,
                        generator=torch.Generator())  # keeps torch's global RNG untouched
    return dataset, sampler, loader


def check_one_batch(cfg, n_recordings: int, batch: int, name: str) -> None:
    """Stops when a rank's clips of an epoch (as EpochSampler deals them) fill no batch."""
    clips = n_recordings * cfg.crops_per_file // world_size()
    if clips >= batch:
        return
    per, over, of = "", "", ""
    if world_size() > 1:
        per, over, of = " and process", f" / {world_size()} processes", f" of {batch}"
    fewer_folds = "" if cfg.full_fit else f", or fewer folds (n_folds {cfg.n_folds})"
    raise SystemExit(f"{name}: {clips} training clip(s) per epoch{per} ({n_recordings} "
                     f"recording(s) x crops_per_file {cfg.crops_per_file}{over}) fill no "
                     f"batch{of} (batch_size {cfg.batch_size}{over}), so not one step would "
                     f"train: lower batch_size, raise crops_per_file{fewer_folds}")


def build_trainer(cfg, n_classes: int, steps_per_epoch: int, device: torch.device,
                  name: str = "training") -> FoldTrainer:
    """The fold's model (channels-last on a GPU, DDP-wrapped under torchrun), its loss (with
    the teacher's term when distilling) and their FoldTrainer."""
    model = build_model(cfg, n_classes).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    model = wrap(model, device, cfg.sync_bn)
    loss = build_loss(cfg.loss, **cfg.loss_args)
    if cfg.distill_weight or cfg.distill_embedding:
        loss = Distill(loss, cfg.distill_weight, cfg.distill_loss, cfg.distill_temperature,
                       cfg.distill_embedding)
    return FoldTrainer(cfg, model, loss, steps_per_epoch, device, name)


class FoldRun:
    """The end of each epoch of one fold: validation when due, the log, and the weights kept
    (`keep`: the best epoch by `metric`, or the last; `average_last`: the mean of the last
    epochs' weights) with their OOF part and scores."""

    def __init__(self, cfg, comp, fold: int | None, member: int, valid_df, trainer: FoldTrainer,
                 device: torch.device, trained_on: list[str]) -> None:
        self.cfg, self.comp, self.fold, self.member = cfg, comp, fold, member
        self.valid_df, self.trainer, self.device = valid_df, trainer, device
        self.trained_on = trained_on
        self.tag, self.out = model_tag(fold, member), run_dir(cfg)
        self.state_path = self.out / f"{self.tag}.last.pt"
        self.metric = cfg.metric or comp.metric
        self.y_valid = multi_hot(valid_df["labels"], len(comp.classes))
        self.bagged = cfg.seed_bag > 1  # each member's scores are its own; the bag is scored too
        # a bag member kept after its last epoch unscored (only the bag's mean is validated)
        self.unscored = self.bagged and fold is not None and not cfg.validate_members

    def resume(self) -> None:
        if self.trainer.load(self.state_path):
            print0(f"{self.tag}: resuming at epoch {self.trainer.epoch} step {self.trainer.step}"
                   if self.trainer.epoch < self.cfg.epochs else f"{self.tag}: already trained")

    def evaluate(self) -> tuple[dict, np.ndarray, list]:
        """Validation scores, predictions and rows; a model predicting NaN or inf stops the
        fold here, before any of it is kept or scored."""
        if not len(self.valid_df) or self.unscored:  # a full fit has nothing to validate on
            return {}, self.y_valid, []
        try:
            return validate(self.cfg, self.comp, self.trainer.eval_model, self.valid_df,
                            self.y_valid, self.device)
        except NonFiniteScores as e:
            raise self.trainer.diverged(f"its model predicts non-finite scores ({e})",
                                        f"in validation after epoch {self.trainer.epoch - 1}"
                                        ) from None

    def keep(self, scores: dict, preds: np.ndarray, rows: list) -> None:
        self.trainer.check_weights(f"after epoch {self.trainer.epoch - 1}")  # every rank
        if not is_main():
            return
        save_checkpoint(self.out / f"{self.tag}.pt", self.trainer.eval_model,
                        epoch=self.trainer.epoch - 1, score=scores.get(self.metric),
                        classes=self.comp.classes, config=self.cfg.to_dict(),
                        trained_on=self.trained_on)
        if self.fold is not None and not self.unscored:
            first_of_bag = "_bag0" if self.bagged and not self.member else ""
            save_fold_part(self.cfg, self.fold, self.valid_df["id"].tolist(), preds, rows,
                           self.member if self.bagged else None)
            write_json(self.out / f"scores_{self.tag}{first_of_bag}.json",
                       {"epoch": self.trainer.epoch - 1, **scores})

    def end_epoch(self) -> None:
        cfg, trainer = self.cfg, self.trainer
        stats = trainer.end_epoch()
        epoch, last = trainer.epoch - 1, trainer.epoch == cfg.epochs
        due = last or trainer.epoch % cfg.valid_every == 0
        scores, preds, rows = self.evaluate() if due else ({}, self.y_valid, [])
        trainer.log.append({"epoch": epoch, **stats, **scores})
        improved = bool(scores) and scores[self.metric] > trainer.best
        if improved:
            trainer.best = scores[self.metric]
        kept = last if cfg.keep == "last" or not scores else improved
        if kept and not cfg.average_last:
            self.keep(scores, preds, rows)
        print0(f"{self.tag} epoch {epoch}: loss {stats['loss']:.4f} "
               + " ".join(f"{k} {v:.4f}" for k, v in scores.items()) + (" *" if improved else ""))
        if last and cfg.average_last:  # PSLA: the mean of the last epochs' weights
            trainer.eval_model.load_state_dict(trainer.averaged_weights())
            scores, preds, rows = self.evaluate()
            trainer.log.append({"epoch": f"mean of last {len(trainer.recent)}", **scores})
            self.keep(scores, preds, rows)
            print0(f"{self.tag}: mean of the last {len(trainer.recent)} epochs: "
                   + " ".join(f"{k} {v:.4f}" for k, v in scores.items()))
        if is_main():
            write_csv(self.out / f"log_{self.tag}.csv", pd.DataFrame(trainer.log))
        trainer.save(self.state_path)
