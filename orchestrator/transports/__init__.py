"""How to reach a host: transports (WinRM, SSH) behind one small Protocol, a persistent
interpreter per host speaking the framing of :mod:`._frame`, and the quoting helpers."""
