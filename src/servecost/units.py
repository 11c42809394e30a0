"""Unit constants. Quantities are stored in base SI units; convert only at I/O."""

import numpy as np

KB, MB, GB, TB = 1e3, 1e6, 1e9, 1e12
GiB = 1024**3
TERA = 1e12  # TFLOP/s, TOPS
US, MS = 1e-6, 1e-3
HOUR_S = 3600.0
DAY_S = 24 * HOUR_S
YEAR_S = 365.25 * DAY_S
MONTH_S = YEAR_S / 12
KW, MW = 1e3, 1e6
MTOK = 1e6  # tokens in a "million tokens" price unit

# A quantity that is a scalar or a numpy array broadcasting over a search grid (the same formulas
# take both).
Array = float | np.ndarray
