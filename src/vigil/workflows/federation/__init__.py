"""Federation workflows: this node's identity and peers, deconfliction, and the referral
exchange (outbox, inbox, outcomes flowing back). ``docs/federation.md`` has the protocol."""
