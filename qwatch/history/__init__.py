"""What happened: each queue's and worker's recent past, and the moments that changed it.

Faces keep a `History` and feed it their samples (`qwatch serve` in the
background, `qwatch top` at each poll); nothing here reads Redis. serve's is
saved across restarts in the format of `saved`.
"""
