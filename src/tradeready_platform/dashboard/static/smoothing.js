// Curve smoothing for the dashboard pages: a line-by-line port of tradeready_platform/dashboard/smoothing.py.
// Both are checked against the same hand-computed golden numbers (tests/dashboard).
"use strict";
(function (root) {
  function isFiniteNumber(v) {
    return typeof v === "number" && Number.isFinite(v);
  }

  // TensorBoard's debiased EMA: average started at 0, divided by 1 - weight^n (n = finite points so far).
  // Non-finite values pass through; an all-equal series is returned unchanged.
  function emaDebiased(values, weight) {
    if (weight === undefined) weight = 0.6;
    if (!(weight >= 0 && weight < 1)) throw new RangeError("smoothing weight=" + weight + " is invalid: allowed is 0 <= weight < 1");
    const vals = Array.from(values);
    const finite = vals.filter(isFiniteNumber);
    if (finite.length > 0 && finite.every((v) => v === finite[0])) return vals;
    let last = 0.0;
    let power = 1.0;
    const out = new Array(vals.length);
    for (let i = 0; i < vals.length; i++) {
      const v = vals[i];
      if (!isFiniteNumber(v)) { out[i] = v; continue; }
      last = last * weight + (1.0 - weight) * v;
      power *= weight;
      const debias = 1.0 - power;
      out[i] = debias > 0 ? last / debias : v;
    }
    return out;
  }

  // Trailing mean of the last `window` finite values (fewer at the start), summed left to right.
  function rollingMean(values, window) {
    if (!(Number.isInteger(window) && window >= 1)) throw new RangeError("rolling window=" + window + " is invalid: allowed is an integer >= 1");
    const out = new Array(values.length);
    const buf = [];
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!isFiniteNumber(v)) { out[i] = v; continue; }
      buf.push(v);
      if (buf.length > window) buf.shift();
      let total = 0.0;
      for (let j = 0; j < buf.length; j++) total += buf[j];
      out[i] = total / buf.length;
    }
    return out;
  }

  function smooth(values, method, param) {
    if (method === "ema") return emaDebiased(values, param);
    if (method === "rolling") return rollingMean(values, param);
    if (method === "none") return Array.from(values);
    throw new RangeError("smoothing method=" + method + " is unknown: allowed are 'ema', 'rolling', 'none'");
  }

  root.TRSmoothing = { emaDebiased: emaDebiased, rollingMean: rollingMean, smooth: smooth, DEFAULT_EMA_WEIGHT: 0.6 };
})(typeof window !== "undefined" ? window : globalThis);
