"""bird069 (a PCEN bag of 4, 3-s crops, negatives) with each negative soundscape drawn 4 times
as often as a training recording: 8 files of 10 min gave 48 of 560 crops an epoch (9 %), now
about 28 %. Window AUC asks that a species' windows outrank every other recording's, loud
birds of other species included, which is what the negatives teach."""
from experiments.birdsong.recipes.bird069 import Config as Recipe


class Config(Recipe):
    negative_repeat = 4
