"""The training epoch's progress bar: clips per second, the running loss and learning rate,
and the previous epoch's validation scores, so a run can be judged while it trains."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from tqdm import tqdm


def train_bar(loader: Iterable, desc: str, trainer, metric: str | None = None,
              **options) -> Iterator:
    """Yields the batches of `loader` (an epoch that may resume at `trainer.step`), updating
    the bar's postfix after each training step; `options` go to tqdm."""
    batch_size = getattr(loader, "batch_size", None) or 1
    bar = tqdm(loader, desc=desc, initial=trainer.step, total=trainer.step + len(loader),
               **{"leave": False, "dynamic_ncols": True, "unit": "clip",
                  "unit_scale": batch_size, **options})
    previous = {k: v for k, v in (trainer.log[-1] if trainer.log else {}).items()
                if k in {metric, "lwlrap"} and isinstance(v, float)}
    for batch in bar:
        yield batch
        running = trainer.running
        postfix = {"loss": f"{running['loss'] / max(1, running['count']):.4f}",
                   "lr": f"{trainer.optimizer.param_groups[0]['lr']:.2e}"}
        postfix.update({f"last_{k}": f"{v:.4f}" for k, v in previous.items()})
        bar.set_postfix(postfix, refresh=False)
