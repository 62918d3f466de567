"""The operation as a whole: setup, audit, the report, the synthetic pipeline and the demo."""
