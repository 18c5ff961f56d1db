"""bird040 on 3-s training crops, 6 per recording per epoch (about the same audio per epoch):
a call fills more of a short crop, so fewer crops teach a species from a pause. Validation and
inference keep 5-s windows."""
from configs.bird040 import Config as Base


class Config(Base):
    duration = 3.0
    crops_per_file = 6
    infer_duration = 5.0
