"""Confinement for the sandbox's child process: namespaces and mounts, Landlock, seccomp,
the session keyring, process clean-up, and (on the parent's side) cgroups.

Stdlib and ctypes only, and no import of codex_magic: the child runs as ``python -I``
and loads this package by its path (``sandbox/child.py``'s ``load_confine``), before any
candidate code exists in it. The parent imports the same modules as
``codex_magic.sandbox.confine`` to probe the kernel and to manage cgroups.
"""
