"""bird075 with a recording scored by the mean of its frames, not their max
(`infer_recording = "mean"`). A focal recording holds its species throughout; with one
training recording per species a few frames of it fire for a species it does not hold, and
the max lets one such frame win. Test time only: rows keep their max; window AUC unchanged."""
from experiments.birdsong.recipes.bird075 import Config as Recipe


class Config(Recipe):
    infer_recording = "mean"
