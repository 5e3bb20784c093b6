"""The coaching program: the training log, its records and the progression rules."""
