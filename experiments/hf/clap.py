"""exp003's recipe with a small CLAP audio tower (HTSAT, a Swin transformer) from its config,
at CLAP's 48 kHz: 64 mel bins, a 128 x 128 image (256 frames folded into 2 rows: 2.56 s a
chunk), 3 stages of widths 32, 64 and 128. For `bench.py train/infer` beside exp003's AST."""
from experiments.hf.recipes.exp003 import Config as Recipe


class Config(Recipe):
    backbone = "hf_clap"
    sample_rate = 48000
    hop_length = 480  # the output's frame rate: CLAP's 10-ms frames
    hf_config = dict(depths=(2, 2, 2), num_attention_heads=(2, 4, 8), hidden_size=128,
                     patch_embeds_hidden_size=32, spec_size=128, window_size=8,
                     num_mel_bins=64)
