"""rongshu (榕数): public-data and city-operations platform for a Chinese province or city."""

__version__ = "0.1.0"
