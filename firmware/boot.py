# Runs before main.py on a board (MicroPython's boot sequence). Only the safe
# boot's count, before anything that could crash: the rest is main.py's.
from panel.safe_boot import SafeBoot

SafeBoot().boot_started()
