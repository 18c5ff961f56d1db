"""bird040 with a 2048-point FFT (64 ms at 32 kHz) instead of 1024: finer frequency resolution
below 1 kHz, where 128 mel bins are narrower than a 1024-point FFT's 31 Hz bins."""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    n_fft = 2048
