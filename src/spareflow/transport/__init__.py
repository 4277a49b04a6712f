"""Freight: NMFC classes, rating, modes, packing, shipment building, routing, tracking.

The package itself stays free of numpy so the CLI can name these defaults at start-up."""

#: Truckload defaults of ``spareflow rate`` and ``POST /rate``: a 53-ft dry van, all in
#: (fuel included). Illustrative round figures, not a market quote: pass your carrier's.
FTL_RATE_PER_MILE = 2.50
FTL_MINIMUM = 900.0
