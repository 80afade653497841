"""Pure rules of Préau: no I/O, no clock, no randomness. Time and identifiers are passed in."""
