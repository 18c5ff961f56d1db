"""exp001 with a small Audio Spectrogram Transformer (`transformers`' ASTModel, hf.py) built
from its config, no weights: the path a user takes with an AudioSet AST checkpoint attached as
a Kaggle dataset (`pretrained_path` = its folder, `hf_config` dropped). AST reads its own fbank
at 16 kHz, so the cache is resampled to 16 kHz (calls above 8 kHz are lost). With weights,
`layer_decay = 0.75` and `freeze_epochs = 1` are the usual fine-tuning settings to try."""
from configs.exp001 import Config as Base


class Config(Base):
    sample_rate = 16000
    hop_length = 160  # the output's frame rate: AST's 10-ms fbank frames
    backbone = "hf_ast"
    hf_config = dict(hidden_size=96, num_hidden_layers=4, num_attention_heads=4,
                     intermediate_size=384)
