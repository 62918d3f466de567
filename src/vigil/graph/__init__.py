"""Network analytics on plain data: who matters most, how they connect, and exports."""
