# Medians and quartiles of benchmark runs, for the bench-*.sh scripts: each
# run is a row r = 1..R with its key K[r] ("phase|command") and values
# V[r, col]; the scripts fill them and call these from their END block.

# sorted fills a with the values in column col of the rows keyed key, in
# ascending order, and returns how many there are.
function sorted(key, col, a,   m, i, j, t) {
  m = 0
  for (i = 1; i <= R; i++) if (K[i] == key) a[++m] = V[i, col]
  for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
  return m
}

# median is the median of column col over the rows keyed key.
function median(key, col,   m, a) {
  m = sorted(key, col, a)
  return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}

# quart is the q-quantile (0.25, 0.75) of column col over the rows keyed key,
# the nearest run.
function quart(key, col, q,   m, a) {
  m = sorted(key, col, a)
  return a[int((m - 1) * q + 1.5)]
}
