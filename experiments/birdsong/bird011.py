"""A small SED head (attention over windows) trained per fold on BirdNET's cached 1024-d
embeddings: spans of consecutive windows as in a 5-s crop, the recording's label."""
from experiments.birdsong.recipes.birdsong import Config as Recipe


class Config(Recipe):
    backbone = "birdnet_head"
    duration = 5.0
    crops_per_file = 8
    epochs = 40
    batch_size = 32
    head_hidden = 256
    dropout = 0.3
    warmup_epochs = 2.0
