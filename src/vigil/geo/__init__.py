"""Where subjects are: country decisions from subscriber returns, providers and IPs."""
