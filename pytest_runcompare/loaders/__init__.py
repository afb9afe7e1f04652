"""Run readers: the native format and other tools' files, behind one ``load_run``."""
