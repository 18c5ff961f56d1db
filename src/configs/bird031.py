"""bird029 with the teacher's labels on unlabeled audio from elsewhere: the Cornell 2020 example
soundscapes (an hour of North American dawn chorus, ../shared/data), mostly species outside the
competition's, so mostly what the student's species are not."""
from configs.bird029 import Config as Base


class Config(Base):
    distill_audio = "../shared/data/cornell-example/test_audio"
