# The call engine (DESIGN.md "A call"): a visitor dials an apartment, the panel
# rings its targets and follows the redirect rules to the end of the call.
#
#   machine.py      CallMachine: sans-I/O, one transition table (STYLE rule 9)
#   controller.py   CallController: the async layer on the drivers handed in
#   environment.py  what the two ask of the panel (configuration and effects)
#
# Nothing is imported here: the API alone (and its tests) need none of it.
