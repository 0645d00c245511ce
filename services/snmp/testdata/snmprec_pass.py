"""Serve an snmprec file to snmpd through its pass_persist protocol.

Usage (snmpd.conf): pass_persist OID python3 snmprec_pass.py FILE OID

Only the objects under OID are answered, read-only: snmpd registers one
pass_persist per object, so an unknown instance of a known object is
noSuchInstance and an unknown object noSuchObject, as in the lab's agent.
"""

import sys

# snmprec type tags and the pass_persist type names that carry them.
TYPES = {
    "2": "integer",
    "4": "string",
    "4x": "octet",
    "6": "objectid",
    "64": "ipaddress",
    "65": "counter",
    "66": "gauge",
    "67": "timeticks",
    "70": "counter64",
}


def key(oid):
    """Return the OID as a tuple of numbers, so that tuples sort as OIDs."""
    return tuple(int(arc) for arc in oid.strip().strip(".").split(".") if arc)


def load(path, prefix):
    """Read the snmprec objects under prefix."""
    mib = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            oid, tag, value = line.split("|", 2)
            tag = tag.split(":")[0]
            k = key(oid)
            if k[: len(prefix)] != prefix:
                continue
            if tag == "4x":
                value = " ".join(value[i : i + 2] for i in range(0, len(value), 2))
            mib[k] = (TYPES[tag], value)
    return mib


def main():
    prefix = key(sys.argv[2])
    mib = load(sys.argv[1], prefix)
    order = sorted(mib)

    def reply(*lines):
        sys.stdout.write("".join(line + "\n" for line in lines))
        sys.stdout.flush()

    def show(k):
        typ, value = mib[k]
        reply("." + ".".join(str(arc) for arc in k), typ, value)

    while True:
        cmd = sys.stdin.readline()
        if not cmd:
            return
        cmd = cmd.strip()
        if cmd == "PING":
            reply("PONG")
        elif cmd == "get":
            k = key(sys.stdin.readline())
            if k in mib:
                show(k)
            else:
                reply("NONE")
        elif cmd == "getnext":
            k = key(sys.stdin.readline())
            after = [o for o in order if o > k]
            if after:
                show(after[0])
            else:
                reply("NONE")
        elif cmd == "set":
            sys.stdin.readline()
            sys.stdin.readline()
            reply("not-writable")
        else:
            reply("NONE")


main()
