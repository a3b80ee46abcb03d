"""qwatch's own series read back from Prometheus, for windows longer than a face keeps."""
