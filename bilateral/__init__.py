"""Bilateral (two-hemisphere) neural-network motor controllers for the MuJoCo six-muscle arm."""

__version__ = "0.1.0"
