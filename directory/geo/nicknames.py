"""What people call big cities, mapped to the place the gazetteer knows.

Patients type "NYC", "Philly" or "Vegas" into the place box; the ZIP tables know
none of these. Each entry is a nickname or abbreviation that is not itself the
name of a US place (`tests/test_gazetteer.py` checks both sides), so a real town
is never shadowed. Two are also state codes and mean the city here, as people
mostly mean them in a place box: "DC" (Washington) and "LA" (Los Angeles).
Keys are folded and stripped of everything but letters: "N.Y.C." is "nyc".
"""

from __future__ import annotations

import re

NICKNAMES = {
    "nyc": "New York, NY",
    "newyorkcity": "New York, NY",
    "bigapple": "New York, NY",
    "la": "Los Angeles, CA",
    "sf": "San Francisco, CA",
    "sanfran": "San Francisco, CA",
    "dc": "Washington, DC",
    "washingtondc": "Washington, DC",
    "philly": "Philadelphia, PA",
    "vegas": "Las Vegas, NV",
    "nola": "New Orleans, LA",
    "chitown": "Chicago, IL",
    "atl": "Atlanta, GA",
    "kc": "Kansas City, MO",
    "okc": "Oklahoma City, OK",
    "slc": "Salt Lake City, UT",
    "stl": "Saint Louis, MO",
    "pdx": "Portland, OR",
    "nashvegas": "Nashville, TN",
    "dfw": "Dallas, TX",
    "htown": "Houston, TX",
    "beantown": "Boston, MA",
    "motown": "Detroit, MI",
    "twincities": "Minneapolis, MN",
}
_NOT_LETTERS = re.compile(r"[^a-z]")


def nickname_target(folded: str) -> str | None:
    """The "City, ST" a nickname stands for (`folded`: the input after `fold`)."""
    return NICKNAMES.get(_NOT_LETTERS.sub("", folded))
