"""Golden numbers of the smoothers, computed by hand (used by the Python test and the browser test).

EMA, weight 0.6, values [1, 2, 4, NaN, 3] (TensorBoard: last = last*w + (1-w)*v; out = last / (1 - w**n)):
  v=1: last = 0.4                  n=1  debias 0.4     -> 1.0
  v=2: last = 0.24 + 0.8 = 1.04    n=2  debias 0.64    -> 1.625
  v=4: last = 0.624 + 1.6 = 2.224  n=3  debias 0.784   -> 2.224 / 0.784 = 139/49 = 2.836734693877551
  NaN passes through, n stays 3
  v=3: last = 1.3344 + 1.2 = 2.5344  n=4  debias 0.8704 -> 2.5344 / 0.8704 = 99/34 = 2.911764705882353
Rolling mean, window 2, same values: 1, (1+2)/2 = 1.5, (2+4)/2 = 3, NaN, (4+3)/2 = 3.5.
Rolling mean, window 3, [2, 4, 6, 8]: 2, 3, 4, 6.
"""

VALUES = [1.0, 2.0, 4.0, None, 3.0]
EMA_06 = [1.0, 1.625, 139 / 49, None, 99 / 34]
ROLL_2 = [1.0, 1.5, 3.0, None, 3.5]
ROLL_3_IN = [2.0, 4.0, 6.0, 8.0]
ROLL_3 = [2.0, 3.0, 4.0, 6.0]
