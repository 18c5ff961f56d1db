"""bird069 validated and inferred as it was trained: 3-s windows (its crop length) every 1.5 s,
the max where they overlap, instead of 5-s windows side by side. A model that only ever saw
3-s crops meets each call in a window of the length it learned, and a call cut by one
window's edge lies whole inside the next. Training is bird069's."""
from experiments.birdsong.recipes.bird069 import Config as Recipe


class Config(Recipe):
    infer_duration = None  # = duration, 3 s
    infer_hop = 1.5
