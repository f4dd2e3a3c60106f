#!/usr/bin/python3
"""Local reproduction of the DAP2 and DAP4 protocol checks (response forms, headers, data encodings, constraint
handling, error forms) that OPeNDAP's test suites and the specifications describe; see README.md for the list.

    /usr/bin/python3 conformance/opendap/dap_checks.py --nadir build/nadir          # demo data, own server
    /usr/bin/python3 conformance/opendap/dap_checks.py --url http://host:8080/opendap/sst

Exit status 0 when every check passes. Each line: PASS|FAIL check [detail].
"""
import os
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zlib

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402  (conformance/harness.py)
from harness import check  # noqa: E402

D4 = "{http://xml.opendap.org/ns/DAP/4.0#}"
DAP2_TYPES = {"Byte": 1, "Int16": 4, "UInt16": 4, "Int32": 4, "UInt32": 4, "Float32": 4, "Float64": 8}
DAP4_TYPES = {"Int8": 1, "UInt8": 1, "Char": 1, "Int16": 2, "UInt16": 2, "Int32": 4, "UInt32": 4, "Int64": 8,
              "UInt64": 8, "Float32": 4, "Float64": 8}


# ---- helpers ----

DECL = re.compile(r"^\s*(Byte|Int16|UInt16|Int32|UInt32|Float32|Float64|String|Url) (\S+?)((?:\[[^\]=]+ = \d+\])*);$")


CONTAINER = re.compile(r"^\s*(Grid|Structure) \{$")


def parse_dds(text, containers=None, toplevel=None):
    """[(type, name, [sizes])] of a DDS, Grid and Structure members flattened in order (they add no bytes to the
    XDR); asserts the grammar of each line. containers, when given, gets (kind, name, [member names]) of each;
    toplevel the declarations outside containers."""
    lines = text.strip().splitlines()
    assert lines[0] == "Dataset {", lines[0]
    assert re.match(r"^\} \S+;$", lines[-1]), lines[-1]
    out, open_ = [], None
    for line in lines[1:-1]:
        m = CONTAINER.match(line)
        if m:
            assert open_ is None, "nested container"
            open_ = (m.group(1), [], [])  # kind, members, sections seen
            continue
        if open_ and line.strip() in ("Array:", "Maps:"):
            assert open_[0] == "Grid", f"{line.strip()} outside a Grid"
            open_[2].append(line.strip())
            continue
        m = re.match(r"^\s*\} (\S+);$", line)
        if m and open_:
            if open_[0] == "Grid":
                assert open_[2] == ["Array:", "Maps:"] and len(open_[1]) >= 2, "a Grid has Array: then Maps:"
            if containers is not None:
                containers.append((open_[0], m.group(1), open_[1]))
            open_ = None
            continue
        m = DECL.match(line)
        assert m, f"not a DAP2 declaration: {line!r}"
        sizes = [int(s) for s in re.findall(r"= (\d+)\]", m.group(3))]
        out.append((m.group(1), m.group(2), sizes))
        if open_:
            open_[1].append(m.group(2))
        elif toplevel is not None:
            toplevel.append(out[-1])
    assert open_ is None, "unclosed container"
    return out


def xdr_size(decls):
    total = 0
    for t, _, sizes in decls:
        n = 1
        for s in sizes:
            n *= s
        if t == "Byte":
            total += 8 + (n + 3) // 4 * 4 if sizes else 4
        elif t in DAP2_TYPES:
            total += (8 if sizes else 0) + DAP2_TYPES[t] * n
        else:
            return None
    return total


def dap4_chunks(raw):
    """(dmr bytes, data bytes, first-chunk flags); asserts the chunk framing."""
    pos, dmr, data, first = 0, None, [], None
    while True:
        assert pos + 4 <= len(raw), "truncated chunk header"
        flags, n = raw[pos], int.from_bytes(raw[pos + 1:pos + 4], "big")
        assert not flags & 2, "error chunk: " + raw[pos + 4:pos + 4 + n].decode(errors="replace")
        chunk = raw[pos + 4:pos + 4 + n]
        assert len(chunk) == n, "truncated chunk"
        pos += 4 + n
        if dmr is None:
            dmr, first = chunk, flags
        else:
            data.append(chunk)
        if flags & 1:
            break
    assert pos == len(raw), f"{len(raw) - pos} bytes after the last chunk"
    return dmr, b"".join(data), first


def dmr_vars(root):
    dims = {d.get("name"): int(d.get("size")) for d in root.findall(D4 + "Dimension")}
    out = []
    for el in root:
        t = el.tag.replace(D4, "")
        if t in ("Dimension", "Attribute"):
            continue
        sizes = []
        for d in el.findall(D4 + "Dim"):
            if d.get("name"):
                name = d.get("name").lstrip("/")
                assert name in dims, f"Dim {name} of {el.get('name')} is not declared"
                sizes.append(dims[name])
            else:
                sizes.append(int(d.get("size")))
        out.append((t, el.get("name"), sizes))
    return out


def dap2_error(r, status):
    assert r.status_code == status, f"HTTP {r.status_code}, expected {status}: {r.text[:200]}"
    assert re.match(r'^Error \{\s*code = -?\d+;\s*message = ".*";\s*\};\s*$', r.text, re.S), r.text[:200]
    assert r.headers.get("Content-Description") == "dods-error"


def dap4_error(r, status):
    assert r.status_code == status, f"HTTP {r.status_code}, expected {status}"
    root = ET.fromstring(r.content)
    assert root.tag.endswith("Error") and root.get("httpcode") == str(status), r.text[:200]
    assert root.find("Message") is not None and root.find("Message").text


# ---- DAP2 ----

@check("dap2.das.form")
def das_form(c):
    r = requests.get(c.url + ".das")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    assert r.headers.get("Content-Description") == "dods-das"
    t = r.text
    assert t.startswith("Attributes {\n") and t.rstrip().endswith("}")
    assert t.count("{") == t.count("}")
    for line in t.splitlines()[1:-1]:
        s = line.strip()
        assert s == "}" or s.endswith("{") or re.match(
            r'^(Byte|Int16|UInt16|Int32|UInt32|Float32|Float64|String|Url) \S+ .+;$', s), f"bad DAS line {s!r}"


@check("dap2.dds.form")
def dds_form(c):
    r = requests.get(c.url + ".dds")
    assert r.status_code == 200 and r.headers.get("Content-Description") == "dods-dds"
    c.decls = parse_dds(r.text)
    assert c.decls, "empty DDS"


@check("dap2.das.covers-dds")
def das_covers(c):
    das = requests.get(c.url + ".das").text
    for _, name, _ in parse_dds(requests.get(c.url + ".dds").text):
        assert re.search(rf"^    {re.escape(name)} \{{$", das, re.M), f"{name} has no attribute table"


@check("dap2.dods.form")
def dods_form(c):
    r = requests.get(c.url + ".dods")
    assert r.status_code == 200 and r.headers.get("Content-Description") == "dods-data"
    assert r.headers["Content-Type"].startswith("application/octet-stream")
    head, sep, body = r.content.partition(b"\nData:\n")
    assert sep, "no Data: separator"
    decls = parse_dds(head.decode() + "\n")
    size = xdr_size(decls)
    if size is not None:
        assert len(body) == size, f"XDR body {len(body)} bytes, the DDS says {size}"
    # array counts come twice for fixed-size types
    t, _, sizes = decls[0]
    if sizes and t in DAP2_TYPES:
        n = 1
        for s in sizes:
            n *= s
        assert struct.unpack(">II", body[:8]) == (n, n)


def top_level(c):
    """Declarations outside containers, and the Grids by name (their array's declaration)."""
    conts, top = [], []
    decls = parse_dds(requests.get(c.url + ".dds").text, conts, top)
    grids = {g: next(d for d in decls if d[1] == g) for kind, g, _ in conts if kind == "Grid"}
    return top, grids


@check("dap2.dods.hyperslab")
def dods_hyperslab(c):
    top, grids = top_level(c)
    t, name, sizes = next(d for d in top + list(grids.values()) if len(d[2]) >= 2)
    if name in grids:
        name = f"{name}.{name}"  # the Grid's array alone (libdap's Structure form)
    ce = name + "".join(f"[0:2:{min(s - 1, 4)}]" for s in sizes)
    r = requests.get(c.url + ".dods?" + ce)
    head, _, body = r.content.partition(b"\nData:\n")
    got = parse_dds(head.decode() + "\n")
    assert len(got) == 1 and got[0][2] == [min(s - 1, 4) // 2 + 1 for s in sizes], got
    assert len(body) == xdr_size(got)
    assert requests.get(c.url + ".dds?" + ce).text == head.decode() + "\n"


@check("dap2.dods.several-projections")
def dods_several(c):
    decls, _ = top_level(c)
    names = [d[1] for d in decls[:2]]
    got = parse_dds(requests.get(c.url + ".dds?" + ",".join(reversed(names))).text)
    assert [g[1] for g in got] == names, "projected variables must come in dataset order"


@check("dap2.grid.form")
def grid_form(c):
    """A Grid: the array, then one map per dimension, named and sized like that dimension (DAP 2.0 §4.5)."""
    conts = []
    decls = {d[1]: d for d in parse_dds(requests.get(c.url + ".dds").text, conts)}
    grids = [(g, ms) for kind, g, ms in conts if kind == "Grid"]
    assert grids, "no Grid (a variable with a coordinate variable on each dimension)"
    dds = requests.get(c.url + ".dds").text
    for g, ms in grids:
        arr = re.search(rf"Array:\n\s*\S+ {re.escape(g)}((?:\[[^\]]+\])+);", dds).group(1)
        dims = re.findall(r"\[(\S+) = (\d+)\]", arr)
        maps = re.search(rf"Maps:\n((?:\s+\S+ \S+\[[^\n]+;\n)+)\s*\}} {re.escape(g)};", dds).group(1)
        got = re.findall(r"\S+ (\S+)\[(\S+) = (\d+)\];", maps)
        assert [(n, s) for n, _, s in got] == dims and all(n == d for n, d, _ in got), (g, dims, got)


@check("dap2.grid.payload")
def grid_payload(c):
    """A Grid hyperslab: the maps cut like their dimensions, the XDR the array then each map, nothing between."""
    conts = []
    parse_dds(requests.get(c.url + ".dds").text, conts)
    g, ms = next((g, ms) for kind, g, ms in conts if kind == "Grid")
    dds = requests.get(c.url + ".dds").text
    sizes = [int(n) for n in re.findall(r"= (\d+)\]", re.search(rf"Array:\n[^\n]*", dds[dds.index("Grid {"):]).group(0))]
    ce = g + "".join(f"[0:2:{min(s - 1, 4)}]" for s in sizes)
    r = requests.get(c.url + ".dods?" + ce)
    head, _, body = r.content.partition(b"\nData:\n")
    got_conts = []
    got = parse_dds(head.decode() + "\n", got_conts)
    want = [min(s - 1, 4) // 2 + 1 for s in sizes]
    assert got_conts and got_conts[0][0] == "Grid" and got[0][2] == want, got
    assert [d[2] for d in got[1:]] == [[n] for n in want], "maps cut like the array's dimensions"
    assert len(body) == xdr_size(got)
    pos = 0
    for t, _, sz in got:  # walk the XDR: each member an Array (count twice, values)
        n = 1
        for k in sz:
            n *= k
        assert struct.unpack(">II", body[pos:pos + 8]) == (n, n)
        pos += 8 + (n + 3) // 4 * 4 if t == "Byte" else 8 + DAP2_TYPES[t] * n
    assert pos == len(body)


@check("dap2.grid.member-structure")
def grid_member(c):
    """A Grid member alone comes in libdap's Structure form."""
    conts = []
    parse_dds(requests.get(c.url + ".dds").text, conts)
    g, ms = next((g, ms) for kind, g, ms in conts if kind == "Grid")
    got = []
    parse_dds(requests.get(c.url + f".dds?{g}.{ms[1]}").text, got)
    assert got == [("Structure", g, [ms[1]])], got


@check("dap2.headers")
def dap2_headers(c):
    for s in (".das", ".dds", ".dods", ".ver"):
        h = requests.head(c.url + s).headers if s != ".dods" else requests.get(c.url + ".dods?" + c.decls[0][1]).headers
        assert "XDODS-Server" in h and "XOPeNDAP-Server" in h, s


@check("dap2.ver")
def ver(c):
    r = requests.get(c.url + ".ver")
    assert r.status_code == 200 and "DAP/2" in r.text


@check("dap2.html-form")
def html(c):
    r = requests.get(c.url + ".html")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html") and "<form" in r.text


@check("dap2.info")
def info(c):
    r = requests.get(c.url + ".info")
    assert r.status_code == 200 and "Dataset {" in r.text


@check("dap2.ascii")
def ascii_(c):
    t, name, sizes = c.decls[0]
    r = requests.get(c.url + ".ascii?" + name + "".join("[0]" for _ in sizes))
    assert r.status_code == 200 and "---" in r.text and name in r.text.split("---")[-1]


@check("dap2.head")
def head(c):
    r = requests.head(c.url + ".dds")
    assert r.status_code == 200 and not r.content


@check("dap2.error.unknown-variable")
def e_unknown(c):
    dap2_error(requests.get(c.url + ".dds?no_such_variable"), 404)


@check("dap2.error.index-out-of-range")
def e_range(c):
    t, name, sizes = next(d for d in c.decls if d[2])
    dap2_error(requests.get(c.url + ".dods?" + name + "".join(f"[{s}]" for s in sizes)), 400)


@check("dap2.error.stride-0")
def e_stride(c):
    t, name, sizes = next(d for d in c.decls if d[2])
    dap2_error(requests.get(c.url + ".dods?" + name + "".join("[0:0:0]" for _ in sizes)), 400)


@check("dap2.error.malformed-ce")
def e_malformed(c):
    for ce in ("x[", "x[1:2:3:4]", "x]", ",", "x[-1]"):
        dap2_error(requests.get(c.url + ".dds?" + ce), 400)


@check("dap2.error.no-dataset")
def e_dataset(c):
    dap2_error(requests.get(c.url.rsplit("/", 1)[0] + "/no_such_dataset_xyz.dds"), 404)


# ---- DAP4 ----

@check("dap4.dmr.form")
def dmr(c):
    r = requests.get(c.url + ".dmr.xml")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/vnd.opendap.dap4.dataset-metadata+xml")
    root = ET.fromstring(r.content)
    assert root.tag == D4 + "Dataset" and root.get("dapVersion") == "4.0" and root.get("name")
    c.d4 = dmr_vars(root)
    assert c.d4
    assert requests.get(c.url + ".dmr").content == r.content


@check("dap4.dap.chunks")
def dap_chunks(c):
    r = requests.get(c.url + ".dap")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/vnd.opendap.dap4.data")
    dmr, data, flags = dap4_chunks(r.content)
    assert dmr.endswith(b"\r\n"), "the DMR chunk ends with CRLF"
    assert flags & 4, "little-endian flag"
    ET.fromstring(dmr[:-2])


@check("dap4.dap.crc32")
def dap_crc(c):
    fixed = [v for v in c.d4 if v[0] in DAP4_TYPES][:3]
    ce = ";".join("/" + v[1] for v in fixed)
    dmr, data, _ = dap4_chunks(requests.get(c.url + ".dap", params={"dap4.ce": ce}).content)
    got = dmr_vars(ET.fromstring(dmr[:-2]))
    pos = 0
    for t, name, sizes in got:
        n = DAP4_TYPES[t]
        for s in sizes:
            n *= s
        crc = struct.unpack("<I", data[pos + n:pos + n + 4])[0]
        assert crc == zlib.crc32(data[pos:pos + n]), f"CRC32 of {name}"
        pos += n + 4
    assert pos == len(data)


@check("dap4.dap.no-checksum")
def dap_nocrc(c):
    v = next(v for v in c.d4 if v[0] in DAP4_TYPES)
    dmr, data, flags = dap4_chunks(requests.get(c.url + ".dap", params={"dap4.ce": "/" + v[1],
                                                                         "dap4.checksum": "false"}).content)
    n = DAP4_TYPES[v[0]]
    for s in v[2]:
        n *= s
    assert len(data) == n and flags & 8


@check("dap4.ce.hyperslab")
def d4_ce(c):
    t, name, sizes = next(v for v in c.d4 if len(v[2]) >= 2 and v[0] in DAP4_TYPES)
    ce = "/" + name + "".join(f"[0:2:{min(s - 1, 4)}]" for s in sizes)
    got = dmr_vars(ET.fromstring(requests.get(c.url + ".dmr.xml", params={"dap4.ce": ce}).content))
    assert got == [(t, name, [min(s - 1, 4) // 2 + 1 for s in sizes])], got


@check("dap4.dsr")
def dsr(c):
    r = requests.get(c.url + ".dsr")
    assert r.status_code == 200 and ET.fromstring(r.content).tag.endswith("DatasetServices")


@check("dap4.error.unknown-variable")
def d4_unknown(c):
    dap4_error(requests.get(c.url + ".dap", params={"dap4.ce": "/no_such_variable"}), 404)


@check("dap4.error.stride-0")
def d4_stride(c):
    t, name, sizes = next(v for v in c.d4 if v[2])
    dap4_error(requests.get(c.url + ".dmr", params={"dap4.ce": "/" + name + "[0:0:0]" * len(sizes)}), 400)


@check("dap4.error.malformed-ce")
def d4_malformed(c):
    for ce in ("/x[", "/x{y}", "/x;", "/x[1:2:3:4]"):
        r = requests.get(c.url + ".dmr", params={"dap4.ce": ce})
        assert r.status_code in (400, 501), ce
        dap4_error(r, r.status_code)


# ---- running ----

def main():
    ap = harness.parser(__doc__, "a dataset's DAP URL, e.g. http://host:8080/opendap/sst")
    ap.add_argument("--dataset", default="sst", help="with --nadir: the demo dataset to check (default sst)")
    a = ap.parse_args()
    proc, url = harness.serve_demo(a.nadir) if a.nadir else (None, a.url)

    class Ctx:
        decls = []
        d4 = []
    Ctx.url = (f"{url}/opendap/{a.dataset}" if proc else url).rstrip("/")
    return harness.run_checks(Ctx, proc)


if __name__ == "__main__":
    sys.exit(main())
