"""bird021 (60 epochs) + bird020's mixup: mixup hurt at 15 epochs, where the model still
underfits; at 60 epochs it fits the training crops, where a regulariser may pay."""
from configs.bird021 import Config as Base


class Config(Base):
    mixup = dict(alpha=1.0, p=0.5, on="logmel", labels="union")
