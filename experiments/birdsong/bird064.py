"""bird052 + negatives: the hour of Cornell 2020 test soundscapes (North American birds and
sites, none of these 86 European species labelled in them) as crops with every class absent.
With one training recording per species, a class's output learns "this recording" and fires
on any loud bird of a new site; negatives show it birds and sites that are none of its own."""
from experiments.birdsong.recipes.bird064 import Config as Recipe


class Config(Recipe):
    pass  # the recipe itself: recipes/bird064.py froze bird064 whole
