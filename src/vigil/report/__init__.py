"""The operation report: one offline HTML file, no media, no external assets."""
