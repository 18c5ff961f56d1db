"""bird084 (the bird recipe with no-call backgrounds) with exp003's small Audio Spectrogram
Transformer from its config in place of the CNN, at AST's 16 kHz (calls above 8 kHz lost): a
transformer from scratch on the real birds, at about the recipe's CPU time (issue 29). A user
with an AudioSet AST checkpoint sets pretrained_path to its folder and drops hf_config."""
from experiments.birdsong.recipes.bird083 import Config as Recipe


class Config(Recipe):
    # from bird084 (its change to bird083)
    batch_augment = dict(Recipe.batch_augment, mix_p=0.5, mix_snr_db=(0.0, 20.0),
                         mix_from="no_call")
    # bird095's own change
    backbone = "hf_ast"
    sample_rate = 16000
    hop_length = 160  # AST's 10-ms fbank frames
    hf_config = dict(hidden_size=96, num_hidden_layers=4, num_attention_heads=4,
                     intermediate_size=384)
