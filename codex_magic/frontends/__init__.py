"""What users touch, each a thin shell over ``pipeline.solve`` (or
``docstrings.write_docstrings``): the ``%%codex`` and ``%%docstring`` magics, the
``codex-magic`` command line, the widgets, the kernel side of the JupyterLab sidebar,
the Jupyter server extension, and the forms all of them make from ``options``.

Nothing here is imported by ``%load_ext codex_magic`` until it is used.
"""
