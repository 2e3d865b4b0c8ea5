"""A search's folder, shared by the notebook side and the workers: its files' names and lock (``project``),
the controller <-> worker files (``protocol``), the event log (``eventlog``), the record (``record``), the
folder's own truth (``store``) and the kept test-split figures (``evaluation``). Imports no Keras."""
