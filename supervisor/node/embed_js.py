#!/usr/bin/env python3
"""Turns a JS file into a C translation unit holding it as a NUL-terminated char array.

With headers after the array name, the line `/* @knext-constants */` of the JS file is replaced by
one `const` per plain constant of those headers: each `#define NAME "text"` or `#define NAME 123`
and each `NAME = 123,` enumerator, so that the JS never spells a value the C code owns. An
enumerator PACK_KIND_X becomes KIND_X.
"""
import json
import re
import sys

MARKER = "/* @knext-constants */"
DEFINE = re.compile(r'^#define\s+([A-Z][A-Z0-9_]*)\s+("(?:[^"\\]|\\.)*"|[0-9]+)\s*(?:/\*.*\*/)?\s*$')
ENUMERATOR = re.compile(r'^\s*([A-Z][A-Z0-9_]*)\s*=\s*([0-9]+)\s*,')


def constants(headers):
    out = []
    for h in headers:
        out.append("// Generated from %s." % "/".join(h.split("/")[-2:]))
        for line in open(h, encoding="utf-8"):
            m = DEFINE.match(line) or ENUMERATOR.match(line)
            if not m:
                continue
            name, value = m.groups()
            if name.startswith("PACK_KIND_"):
                name = name[len("PACK_"):]
            if value.startswith('"'):
                value = json.dumps(json.loads(value))
            out.append("const %s = %s;" % (name, value))
    return "\n".join(out)


def main():
    src, out, name = sys.argv[1:4]
    data = open(src, "rb").read()
    headers = sys.argv[4:]
    if headers:
        text = data.decode("utf-8")
        if text.count(MARKER) != 1:
            sys.exit("%s: expected the line %s exactly once" % (src, MARKER))
        data = text.replace(MARKER, constants(headers)).encode("utf-8")
    with open(out, "w") as f:
        f.write("/* Generated from %s. */\n" % src.rsplit("/", 1)[-1])
        f.write("const char %s[] = {\n" % name)
        for i in range(0, len(data), 16):
            f.write("\t" + ", ".join("0x%02x" % b for b in data[i:i + 16]) + ",\n")
        f.write("\t0x00\n};\n")


main()
