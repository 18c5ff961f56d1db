"""bird032 with the teacher's labels on the validation recordings as unlabeled audio (as
bird030 adds them to bird029): what unlabeled audio from the test's distribution brings once
the teacher's term fits."""
from configs.bird032 import Config as Base


class Config(Base):
    distill_audio = "valid"
