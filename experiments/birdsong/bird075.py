"""bird074 with each 5-s row smoothed with its neighbours: (row + 0.5 x (previous + next
row)) / 2, fewer neighbours at a recording's ends (`infer_temporal`). A call rarely fits one
5-s row, and one row's score is noisy: its neighbours vote. Changes window AUC only (a
recording's score stays its framewise max); on rows labelled per window rather than per
recording it helps less."""
from experiments.birdsong.recipes.bird075 import Config as Recipe


class Config(Recipe):
    pass  # the recipe itself: recipes/bird075.py froze bird075 whole
