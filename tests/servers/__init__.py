"""Real servers for tests, on free loopback ports: Radicale (CalDAV), Dovecot (IMAP), aiosmtpd.

With ``CI=true`` a server that cannot start fails the tests that need it;
on a developer machine those tests are skipped with the reason.
"""
