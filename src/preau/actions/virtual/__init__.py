"""Virtual classes: rooms placed ahead of each virtual lesson on the Janus nodes, tokens for
those allowed in, hands raised and the floor given (docs/virtual-classes.md).

``pool`` (the nodes, their health and the loop every process runs), ``placement`` (creating
rooms and putting them on the node with the most spare capacity, fail-over), ``nodes`` (what
operators see and drain), ``rooms`` (the rooms a person sees, starting one now, inviting),
``seats`` (joining: a seat and the tokens) and ``hands`` (hands, the floor, participants).
Import each name from the module that owns it; the actions the pages and the API call as
``virtual.<verb>`` are also named here.
"""

from preau.actions.virtual.hands import floor, give_floor, participants, raise_hand
from preau.actions.virtual.rooms import get_room, invite, my_rooms, start_unscheduled
from preau.actions.virtual.seats import join

__all__ = [
    "floor",
    "get_room",
    "give_floor",
    "invite",
    "join",
    "my_rooms",
    "participants",
    "raise_hand",
    "start_unscheduled",
]
