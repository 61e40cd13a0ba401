"""Recovery codes: ten single-use codes, written down, for when the phone is gone
(NIST SP 800-63B rev 4, section 4.2.1.1; docs/security.md 28)."""
