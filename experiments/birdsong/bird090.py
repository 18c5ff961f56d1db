"""bird011 (a small SED head trained per fold on BirdNET's cached embeddings) scored on the
soundscape view too: what a head on a strong pretrained encoder keeps of the teacher's
soundscape scores when it learns the classes from one recording each."""
from experiments.birdsong.recipes.bird011 import Config as Recipe


class Config(Recipe):
    # bird090's own change
    valid_soundscapes = dict(length=60.0, calls=(3, 8), seconds=(2.0, 6.0), snr_db=(0.0, 20.0),
                             uses=4)
