"""Working days and the two deadline clocks of a case."""
