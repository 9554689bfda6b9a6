"""The version of labelprep: one place, read by the package, the build (pyproject.toml) and the manifests."""

__version__ = "0.1.0"
