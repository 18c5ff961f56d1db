"""The birdclef2025 template on its synthetic demo, shortened to 10 epochs and one model per
fold: the first model of the self-training loop, whose fold models label the demo's unlabeled
`train_soundscapes/` for st001."""
from experiments.selftrain.recipes.demo2025 import Config as Recipe


class Config(Recipe):
    epochs = 10
    seed_bag = 1
    valid_every = 10
