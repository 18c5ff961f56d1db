"""exp000, the RFCX seed notebook's recipe, on the real birds: the from-scratch anchor every
bird experiment is compared with (same folds; epochs set equal to the compared recipe's)."""
from configs.birdsong import Config as Birdsong
from configs.exp000 import Config as Exp000


class Config(Birdsong, Exp000):
    epochs = 15
