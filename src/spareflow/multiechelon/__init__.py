"""Stock across echelons: repairable items in depot-and-bases networks (METRIC,
VARI-METRIC, their marginal-analysis optimisation and a discrete-event check), and
consumables on trees and serial lines (guaranteed-service model, Clark-Scarf)."""
