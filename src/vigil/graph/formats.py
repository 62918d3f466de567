"""The network export formats, in a module light enough for the CLI to read at start-up."""

EXPORT_FORMATS = ("graphml", "gexf", "i2")
