"""bird003 distilled from the BirdNET teacher: its soft labels on every crop (weight 1) and
crops drawn where it hears the recording's species. The student keeps its fast SED model."""
from configs.bird003 import Config as Base


class Config(Base):
    distill_weight = 1.0
    crop_pick_by = "teacher"
