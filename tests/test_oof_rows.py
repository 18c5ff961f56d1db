"""Row-level OOF: validation timelines cut into the 5-s rows a soundscape's test rows are, with
targets from the labelled events that overlap each row."""
import numpy as np

from oof import row_targets
from scoring import recording_rows


def test_recording_rows_take_the_max_inside_each_5s_row():
    fps = 10.0
    timeline = np.zeros((121, 2), dtype=np.float32)  # 12 s: rows [0, 5), [5, 10), [10, 15)
    timeline[30, 0] = 0.9  # 3 s
    timeline[50, 1] = 0.7  # 5 s: the second row, not the first
    timeline[119, 0] = 0.4  # 11.9 s
    rows = recording_rows(timeline, fps)
    assert rows.shape == (3, 2)
    assert np.allclose(rows, [[0.9, 0.0], [0.0, 0.7], [0.4, 0.0]])


def test_row_targets_from_strong_and_weak_events():
    events = {"rec": np.array([[1, 6.0, 7.0], [0, 4.0, 6.0]]),
              "weak": np.array([[2, 0.0, np.inf]])}
    y, weak = row_targets(events, "rec", 3, 3)
    assert not weak
    assert y.astype(int).tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 0]]  # row 2: nocall
    y, weak = row_targets(events, "weak", 3, 3)
    assert weak and y[:, 2].all()
    y, weak = row_targets(events, "unlabelled", 2, 3)
    assert not weak and not y.any()
