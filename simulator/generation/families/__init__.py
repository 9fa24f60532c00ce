"""Event families. Each subpackage is one self-contained family (its generators, the context objects its
events share, its scenario vocabulary) and registers its event types when imported; the catalogue imports
every subpackage here, so adding a family is adding a folder here and a schema folder under ``schemas/``."""
