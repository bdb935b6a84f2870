"""Agent isolation: bubblewrap sandboxes, the secret store, the git-remote broker.

* :mod:`.policy`  - what each role sees (:func:`policy.view_for` -> :class:`policy.View`);
* :mod:`.bwrap`   - the ``bwrap`` argv for a view, the binary check and probe;
* :mod:`.secrets` - ``gt secret`` store (0600, outside every sandbox), the
  git credential helper and the ledger/mail redaction check;
* :mod:`.broker`  - the per-session helper that runs ``git fetch``/``push``
  for a sandboxed Refinery *outside* its sandbox, with the rig's credentials;
* :mod:`.tmux_gate` - the per-session helper through which a sandboxed
  Mayor/Deacon/Witness drives town sessions (no sandbox has the tmux socket).

``docs/security.md`` is the user's description.
"""
