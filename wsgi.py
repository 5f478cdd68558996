import gc

from app import create_app

app = create_app()

# The objects of start-up (modules, routes, mappers: about 160,000) live as long as the
# process. Frozen, Python's full garbage collections no longer walk them: one of those took
# 90 ms in a request now and then (docs/adr/0036-frozen-start-up-objects.md).
gc.collect()
gc.freeze()
