"""bird040 + waveform mixup with mixed labels (alpha 0.4, half the batches' clips): the
softmax target then shares the classes by the mixing weight. bird020/bird035 mixed log-mels
with the labels' union, which under a softmax asks for both species at 50/50 however faint one
of them is."""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    mixup = dict(alpha=0.4, p=0.5, on="wave", labels="mix")
