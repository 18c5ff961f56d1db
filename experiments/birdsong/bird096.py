"""bird095 (bird084 with a small AST from its config) at 19 epochs instead of 30: the CNN
recipe's CPU time (bird095 took 1.56 times it), the comparison issue 29 asks for."""
from experiments.birdsong.recipes.bird083 import Config as Recipe


class Config(Recipe):
    # from bird084 (its change to bird083)
    batch_augment = dict(Recipe.batch_augment, mix_p=0.5, mix_snr_db=(0.0, 20.0),
                         mix_from="no_call")
    # from bird095
    backbone = "hf_ast"
    sample_rate = 16000
    hop_length = 160  # AST's 10-ms fbank frames
    hf_config = dict(hidden_size=96, num_hidden_layers=4, num_attention_heads=4,
                     intermediate_size=384)
    # bird096's own change
    epochs = 19
