package dev.aspo.tensor;

/** Broadcasting elementwise arithmetic. */
public enum BinaryOp { ADD, SUB, MUL, DIV }
