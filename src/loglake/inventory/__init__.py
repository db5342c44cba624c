"""Step 1 of the posture pipeline: what the account holds, with its tags and its logging settings, as a JSON snapshot.

`collect.run_inventory` calls one small collector per service (`collectors/`), region by region; a collector that
fails (access denied, a service the endpoint does not offer) is reported in the snapshot's `errors` and the others go
on. Every later step (classify, audit, remediate, cost) reads the snapshot offline.
"""

from loglake.inventory.snapshot import Inventory, InventoryError, load_inventory, save_inventory

__all__ = ["Inventory", "InventoryError", "load_inventory", "save_inventory"]
