"""bird029 with the teacher's labels as softmax targets (`distill_loss = "ce"`, each crop
weighted by how sure the teacher is) instead of a BCE: BCE over 86 classes underfits here
(see bird004), and a teacher term that does not fit teaches nothing."""
from configs.bird029 import Config as Base


class Config(Base):
    distill_loss = "ce"
