"""exp003's recipe with a small HuBERT-style waveform encoder (the architecture of the
bioacoustic AVES checkpoints) from its config: the 7-layer conv feature encoder at 128
channels (20-ms steps), then 4 transformer layers of width 96. For `bench.py train/infer`
beside exp003's AST."""
from experiments.hf.recipes.exp003 import Config as Recipe


class Config(Recipe):
    backbone = "hf_hubert"
    hf_config = dict(hidden_size=96, num_hidden_layers=4, num_attention_heads=4,
                     intermediate_size=384, conv_dim=(128,) * 7, num_conv_pos_embeddings=32,
                     num_conv_pos_embedding_groups=4)
