"""exp001's demo recipe (mobilenetv3_small on 5-s log-mel crops) on the real birds, with four
random crops per recording per epoch."""
from configs.birdsong import Config as Birdsong
from configs.exp001 import Config as Exp001


class Config(Birdsong, Exp001):
    crops_per_file = 4
    epochs = 15
