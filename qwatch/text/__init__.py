"""What the faces share and no face's toolkit: tables, columns, listings, safe text."""
