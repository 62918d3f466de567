"""The network: distribution, countries, ranking and graph exports."""
