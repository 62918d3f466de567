"""Federation engine: what two agencies' nodes need to work the same network without a
shared database and without disclosing their selectors.

- ``oprf``: RFC 9497 verifiable OPRF (ristretto255-SHA512) through the ``voprf`` bindings;
- ``signing``: Ed25519 request signatures with a timestamp and a nonce;
- ``keys``: the node's private keys, on disk beside (never inside) the database;
- ``tokens``: selectors in the one normalised form both sides evaluate;
- ``evaluated_set``: the holder's signed, expiring set of evaluated selectors;
- ``transport``: how a request reaches a peer, behind a one-method interface.

Everything here takes and returns plain data; the store and HTTP live elsewhere
(``docs/federation.md`` describes the protocol).
"""
