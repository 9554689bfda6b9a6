"""The verbs, one module each (convert; validate; export and verify; the verbs over a frame), all re-exported by
:mod:`labelprep.api` and the package."""
