"""Tupoksi Bot: who handles what at KPU Provinsi Banten."""

__version__ = "0.1.0"
