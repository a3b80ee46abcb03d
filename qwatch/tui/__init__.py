"""`qwatch top`: the full-screen terminal monitor."""
