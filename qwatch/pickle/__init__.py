"""The never-unpickling reader: what a pickle holds, shown without running any of it."""
