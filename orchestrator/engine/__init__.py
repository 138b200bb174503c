"""The engine: runs a reviewed plan ("when"), journaling every step."""
