"""bird029 with the teacher's labels on unlabeled audio from the test's own distribution: here
each fold's validation recordings, whose labels the student never sees (what a competition's
unlabeled soundscapes, or its test audio, give a distilled student; transductive in CV)."""
from configs.bird029 import Config as Base


class Config(Base):
    distill_audio = "valid"
