"""bird040 with the `gated` channel in place of `denoised`: what does not stand 6 dB above its
bin's median is exact zero, so a site's background cannot tell one recording from another."""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    channels = ("logmel", "gated")
