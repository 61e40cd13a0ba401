"""What administrators may do to their organisation's users, whoever asks.

The admin portal's pages (``twofold/adminportal/``), the REST API's admin endpoints
(``twofold/api/admin.py``, ``twofold/api/users.py``) and the ``users`` management command
are entry points; the rules they share live here, below all of them: the actions on users
(``services``), finding users (``users``) and importing them from a file (``importing``).
A plain package, not an app: it has no models of its own (docs/design.md).
"""
