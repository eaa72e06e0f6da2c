package dev.aspo.method.loss;

/** The chosen and the rejected response of one preference record. */
public record PreferencePair(ResponseLogps chosen, ResponseLogps rejected) {}
