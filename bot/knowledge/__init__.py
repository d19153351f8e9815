"""The knowledge base on disk: the YAML loader with line numbers, its validation, and the SOP source.

Reads the ``knowledge/`` folder into a :class:`bot.core.model.KnowledgeBase`; every
problem is reported as ``file:line: message``, and the duties are checked against the
SOP text they were copied from. Builds only on :mod:`bot.core`.
"""
