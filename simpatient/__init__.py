"""simpatient: a real-time synthetic-patient simulator for communication training."""

__version__ = "0.1.0"
