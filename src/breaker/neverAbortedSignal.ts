/**
 * The signal `execute` hands to the wrapped function when the caller gave none. It can never abort,
 * so a listener added to it would never run; it keeps none, so that code which adds an "abort"
 * listener per call and never removes it does not make this shared signal grow without bound.
 */
export const neverAbortedSignal: AbortSignal = Object.defineProperties(new AbortController().signal, {
  addEventListener: { value: () => {} },
  onabort: { get: () => null, set: () => {} },
});
