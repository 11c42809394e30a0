"""Measured runs and what is fitted on them: readers of measurement files, validate (predicted
against measured), calibrate (the efficiency factors), cross-validation, and `servecost measure`."""
