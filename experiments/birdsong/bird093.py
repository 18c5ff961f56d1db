"""bird084 with the framewise output trained too: the softmax loss plus 0.5 x BCE on each
class's highest frame in the crop (`loss_args = {"frame_weight": 0.5}`, the term of the
`clip_frame` loss).

Rows are read off the framewise output (a row's score is its highest frame), yet clip labels
train only the attention-pooled clip: frames the attention ignores may score any class, and on
bird083's soundscape view background-only rows outscored rows with a call (bird091's
docstring). The max term asks every frame of a crop to stay below the classes it lacks, the
Cornell no-call crops' frames included."""
from experiments.birdsong.recipes.bird083 import Config as Recipe


class Config(Recipe):
    # from bird084 (its change to bird083)
    batch_augment = dict(Recipe.batch_augment, mix_p=0.5, mix_snr_db=(0.0, 20.0),
                         mix_from="no_call")
    # bird093's own change
    loss_args = {"frame_weight": 0.5}
