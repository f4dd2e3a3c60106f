#!/usr/bin/python3
"""Local reproduction of the OGC CITE checks for processing that run without the TEAM Engine:
ets-ogcapi-processes10 (OGC API - Processes 1.0, core, job list, dismiss) and ets-wps20 (WPS 2.0
basic, synchronous and asynchronous tests), both against the `echo` process (see README.md for the
list and what is not covered).

    /usr/bin/python3 conformance/processes/ets_processes.py --nadir build/nadir   # demo data, own server
    /usr/bin/python3 conformance/processes/ets_processes.py --url http://host:8080

Exit status 0 when every check passes. Each line: PASS|FAIL suite.check [detail].
"""
import os
import sys
import time
import uuid
import xml.etree.ElementTree as ET

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402  (conformance/harness.py)
from harness import check  # noqa: E402

WPS = "http://www.opengis.net/wps/2.0"
OWS = "http://www.opengis.net/ows/2.0"
CONF = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
ECHO = "echo"


def q(tag, ns=WPS):
    return f"{{{ns}}}{tag}"


def wait_status(ctx, job, final=("successful", "failed", "dismissed"), timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = requests.get(f"{ctx.url}/jobs/{job}", headers={"Accept": "application/json"}).json()
        if st["status"] in final:
            return st
        time.sleep(0.1)
    raise AssertionError(f"job {job} did not finish")


# ---------------------------------------------------------------- ets-ogcapi-processes10

@check("ogcapi-processes10.landing-page")
def landing(ctx):
    r = requests.get(ctx.url + "/", headers={"Accept": "application/json"})
    assert r.status_code == 200
    rels = {l["rel"] for l in r.json()["links"]}
    assert {"service-desc", "conformance"} <= rels or "conformance" in rels, rels
    assert any(rel.endswith("/processes") for rel in rels), "no link to /processes"


@check("ogcapi-processes10.conformance")
def conformance(ctx):
    c = requests.get(ctx.url + "/conformance", headers={"Accept": "application/json"}).json()["conformsTo"]
    for cls in ("core", "ogc-process-description", "json", "job-list", "dismiss"):
        assert CONF + cls in c, cls


@check("ogcapi-processes10.openapi operation ids")
def operation_ids(ctx):
    paths = requests.get(ctx.url + "/openapi").json()["paths"]
    ids = {op["operationId"] for item in paths.values() for op in item.values()}
    assert {"getLandingPage", "getConformanceClasses", "getProcesses", "getProcessDescription", "execute", "getJobs",
            "getStatus", "getResult", "dismiss"} <= ids, ids


@check("ogcapi-processes10.process-list")
def process_list(ctx):
    r = requests.get(ctx.url + "/processes", headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert isinstance(doc["links"], list) and doc["processes"]
    for p in doc["processes"]:
        assert p["id"] and p["version"] and isinstance(p["links"], list)
        assert set(p["jobControlOptions"]) <= {"sync-execute", "async-execute", "dismiss"}
    ids = [p["id"] for p in doc["processes"]]
    assert len(ids) == len(set(ids)) and ECHO in ids


@check("ogcapi-processes10.pl-limit-response")
def pl_limit(ctx):
    assert len(requests.get(ctx.url + "/processes?limit=1").json()["processes"]) == 1
    assert requests.get(ctx.url + "/processes?limit=10").status_code == 200


@check("ogcapi-processes10.process-description")
def process_description(ctx):
    d = requests.get(f"{ctx.url}/processes/{ECHO}", headers={"Accept": "application/json"}).json()
    assert d["id"] == ECHO and d["version"]
    for io in list(d["inputs"].values()) + list(d["outputs"].values()):
        assert "schema" in io
    for i in d["inputs"].values():
        assert "minOccurs" not in i or i["minOccurs"] >= 0


@check("ogcapi-processes10.process-exception/no-such-process")
def no_such_process(ctx):
    r = requests.get(f"{ctx.url}/processes/invalid-process-{uuid.uuid4()}")
    assert r.status_code == 404 and "application/problem+json" in r.headers["Content-Type"]


def execute_body(ctx, outputs=True):
    d = requests.get(f"{ctx.url}/processes/{ECHO}").json()
    inputs = {}
    for k, i in d["inputs"].items():  # what the suite sends: "teststring" for strings, a bbox for bboxes
        s = i["schema"]
        if s.get("type") == "string":
            inputs[k] = "teststring"
        elif s.get("format") == "ogc-bbox":
            inputs[k] = {"bbox": [51.9, 7, 52, 7.1], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
    body = {"inputs": inputs}
    if outputs:
        body["outputs"] = {k: {"transmissionMode": "value"} for k in d["outputs"]}
    return body


@check("ogcapi-processes10.job-creation-default-execution-mode")
def default_mode(ctx):
    r = requests.post(f"{ctx.url}/processes/{ECHO}/execution", json=execute_body(ctx))
    assert r.status_code == 200, r.text
    assert r.json()["message"] == "teststring"


@check("ogcapi-processes10.job-creation-auto-execution-mode")
def auto_mode(ctx):
    r = requests.post(f"{ctx.url}/processes/{ECHO}/execution", json=execute_body(ctx),
                      headers={"Prefer": "respond-async"})
    assert r.status_code in (200, 201), r.status_code


@check("ogcapi-processes10.job-creation-default-outputs")
def default_outputs(ctx):
    r = requests.post(f"{ctx.url}/processes/{ECHO}/execution", json=execute_body(ctx, outputs=False))
    assert r.status_code == 200 and {"message", "box"} <= set(r.json())


@check("ogcapi-processes10.job-creation-input-inline-bbox")
def inline_bbox(ctx):
    box = {"bbox": [51.9, 7, 52, 7.1], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
    r = requests.post(f"{ctx.url}/processes/{ECHO}/execution", json={"inputs": {"box": box}})
    assert r.status_code == 200 and r.json()["box"]["bbox"] == box["bbox"]


@check("ogcapi-processes10.job-creation-input-inline-object")
def inline_object(ctx):
    r = requests.post(f"{ctx.url}/processes/{ECHO}/execution",
                      json={"inputs": {"data": {"value": {"a": [1, {"b": None}]}, "mediaType": "application/json"}}})
    assert r.status_code == 200 and r.json()["data"]["value"] == {"a": [1, {"b": None}]}


@check("ogcapi-processes10.job-creation-success-async")
def success_async(ctx):
    r = requests.post(f"{ctx.url}/processes/{ECHO}/execution", json=execute_body(ctx),
                      headers={"Prefer": "respond-async"})
    assert r.status_code == 201 and r.headers.get("Location"), r.status_code
    st = r.json()
    assert st["type"] == "process" and st["jobID"] and st["status"] in ("accepted", "running", "successful")
    assert requests.get(r.headers["Location"].replace("localhost", ctx.host)).status_code == 200
    ctx.job = st["jobID"]


@check("ogcapi-processes10.job-success (status-info)")
def job_status(ctx):
    st = wait_status(ctx, ctx.job)
    assert st["status"] == "successful" and st["jobID"] == ctx.job
    for key in ("created", "updated", "started", "finished", "progress", "links"):
        assert key in st, key
    assert any(l["rel"] == "self" for l in st["links"])


@check("ogcapi-processes10.job-results-success-sync")
def job_results(ctx):
    r = requests.get(f"{ctx.url}/jobs/{ctx.job}/results")
    assert r.status_code == 200 and r.json()["message"] == "teststring"


@check("ogcapi-processes10.job-exception-no-such-job / job-results-exception")
def no_such_job(ctx):
    for path in (f"/jobs/invalid-job-{uuid.uuid4()}", f"/jobs/{uuid.uuid4()}/results"):
        r = requests.get(ctx.url + path)
        assert r.status_code == 404 and "application/problem+json" in r.headers["Content-Type"], path


@check("ogcapi-processes10.job-results-exception/results-not-ready")
def results_not_ready(ctx):
    r = requests.post(f"{ctx.url}/processes/sleep/execution", json={"inputs": {"seconds": 5}},
                      headers={"Prefer": "respond-async"})
    job = r.json()["jobID"]
    r = requests.get(f"{ctx.url}/jobs/{job}/results")
    assert r.status_code == 404 and "result-not-ready" in r.json()["type"]
    ctx.running = job


@check("ogcapi-processes10.dismiss")
def dismiss(ctx):
    r = requests.delete(f"{ctx.url}/jobs/{ctx.running}")
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert requests.get(f"{ctx.url}/jobs/{ctx.running}").status_code == 404


@check("ogcapi-processes10.job-list")
def job_list(ctx):
    r = requests.get(ctx.url + "/jobs", headers={"Accept": "application/json"})
    assert r.status_code == 200
    doc = r.json()
    assert isinstance(doc["jobs"], list) and isinstance(doc["links"], list)
    for j in doc["jobs"]:
        assert j["type"] == "process" and j["jobID"] and j["status"]
    assert len(requests.get(ctx.url + "/jobs?limit=1").json()["jobs"]) <= 1
    assert all(j["status"] == "successful" for j in requests.get(ctx.url + "/jobs?status=successful").json()["jobs"])
    assert all(j["processID"] == ECHO for j in requests.get(f"{ctx.url}/jobs?processID={ECHO}").json()["jobs"])


# ---------------------------------------------------------------- ets-wps20

def wps_get(ctx, **params):
    return requests.get(ctx.url + "/wps", params=params)


def echo_ids(ctx):
    """Input/output ids as the suite picks them: the last literal and the last complex of each."""
    d = ET.fromstring(wps_get(ctx, Service="WPS", Version="2.0.0", Request="DescribeProcess", Identifier=ECHO).content)
    ids = {}
    for kind in ("Input", "Output"):
        for e in d.iter(q(kind)):
            ident = e.find(q("Identifier", OWS)).text
            if e.find(q("LiteralData")) is not None:
                ids["literal" + kind] = ident
            elif e.find(q("ComplexData")) is not None:
                ids["complex" + kind] = ident
    return ids


def execute_xml(ident, inp, out, data, mode="sync", response="document", transmission="value"):
    return (f'<wps:Execute xmlns:wps="{WPS}" xmlns:ows="{OWS}" service="WPS" version="2.0.0" mode="{mode}" '
            f'response="{response}"><ows:Identifier>{ident}</ows:Identifier><wps:Input id="{inp}">{data}</wps:Input>'
            f'<wps:Output id="{out}" transmission="{transmission}"/></wps:Execute>')


@check("wps20.A.4.3 process data types (LiteralData, ComplexData, BoundingBoxData)")
def wps_data_types(ctx):
    d = ET.fromstring(wps_get(ctx, Service="WPS", Version="2.0.0", Request="DescribeProcess", Identifier=ECHO).content)
    for t in ("LiteralData", "ComplexData", "BoundingBoxData"):
        assert next(d.iter(q(t)), None) is not None, t


@check("wps20.precondition echo literal and complex")
def wps_echo(ctx):
    ids = echo_ids(ctx)
    r = requests.post(ctx.url + "/wps", data=execute_xml(ECHO, ids["literalInput"], ids["literalOutput"],
                                                         "<wps:Data>hello_literal</wps:Data>"))
    assert "hello_literal" in r.text, r.text[:300]
    r = requests.post(ctx.url + "/wps", data=execute_xml(
        ECHO, ids["complexInput"], ids["complexOutput"],
        '<wps:Data mimeType="text/xml"><testElement>hello_complex</testElement></wps:Data>'))
    el = next(ET.fromstring(r.content).iter("testElement"), None)
    assert el is not None and el.text == "hello_complex", r.text[:300]


@check("wps20.A.5.1 service name")
def wps_service(ctx):
    assert wps_get(ctx, Service="WPS", Version="2.0.0", Request="GetCapabilities").status_code == 200
    assert wps_get(ctx, Service="WMS", Version="2.0.0", Request="GetCapabilities").status_code >= 400


@check("wps20.A.5.2 service version")
def wps_version(ctx):
    r = wps_get(ctx, Service="WPS", Version="2.0.0", Request="DescribeProcess", Identifier=ECHO)
    assert r.status_code == 200
    assert wps_get(ctx, Service="WPS", Version="3.0.0", Request="DescribeProcess", Identifier=ECHO).status_code >= 400
    assert wps_get(ctx, Service="WPS", AcceptVersions="3.0.0", Request="GetCapabilities").status_code >= 400


@check("wps20.A.5.3/A.5.5 input and output transmission by value")
def wps_by_value(ctx):
    ids = echo_ids(ctx)
    r = requests.post(ctx.url + "/wps", data=execute_xml(ECHO, ids["literalInput"], ids["literalOutput"],
                                                         "<wps:Data>v</wps:Data>"))
    assert next(ET.fromstring(r.content).iter(q("Data")), None) is not None


@check("wps20.A.5.6 output transmission by reference")
def wps_by_reference(ctx):
    ids = echo_ids(ctx)
    r = requests.post(ctx.url + "/wps", data=execute_xml(ECHO, ids["literalInput"], ids["literalOutput"],
                                                         "<wps:Data>v</wps:Data>", transmission="reference"))
    ref = next(ET.fromstring(r.content).iter(q("Reference")), None)
    assert ref is not None
    href = ref.get("{http://www.w3.org/1999/xlink}href").replace("localhost", ctx.host)
    assert requests.get(href).text == "v"


@check("wps20.A.5.7 unique process identifiers")
def wps_unique(ctx):
    d = ET.fromstring(wps_get(ctx, Service="WPS", Version="2.0.0", Request="DescribeProcess", Identifier="ALL").content)
    ids = [p.find(q("Identifier", OWS)).text for p in d.iter(q("Process"))]
    assert ids and len(ids) == len(set(ids))


@check("wps20.A.5.8 unique job identifiers")
def wps_unique_jobs(ctx):
    ids = echo_ids(ctx)
    jobs = set()
    for _ in range(5):
        r = requests.post(ctx.url + "/wps", data=execute_xml(ECHO, ids["literalInput"], ids["literalOutput"],
                                                             "<wps:Data>j</wps:Data>", mode="async"))
        jobs.add(ET.fromstring(r.content).find(q("JobID")).text)
    assert len(jobs) == 5


@check("wps20.A.5.9/A.5.10 GetCapabilities and DescribeProcess via POST/XML")
def wps_post(ctx):
    r = requests.post(ctx.url + "/wps", data=f'<wps:GetCapabilities xmlns:wps="{WPS}" xmlns:ows="{OWS}" service="WPS">'
                                             '<ows:AcceptVersions><ows:Version>2.0.0</ows:Version></ows:AcceptVersions>'
                                             '</wps:GetCapabilities>')
    assert ET.fromstring(r.content).tag == q("Capabilities")
    r = requests.post(ctx.url + "/wps", data=f'<wps:DescribeProcess xmlns:wps="{WPS}" xmlns:ows="{OWS}" service="WPS" '
                                             f'version="2.0.0"><ows:Identifier>{ECHO}</ows:Identifier></wps:DescribeProcess>')
    assert ET.fromstring(r.content).tag == q("ProcessOfferings")


@check("wps20.A.5.11/A.6 synchronous execute, document and raw")
def wps_sync(ctx):
    ids = echo_ids(ctx)
    r = requests.post(ctx.url + "/wps", data=execute_xml(ECHO, ids["literalInput"], ids["literalOutput"],
                                                         "<wps:Data>s</wps:Data>"))
    assert ET.fromstring(r.content).tag == q("Result")
    r = requests.post(ctx.url + "/wps", data=execute_xml(ECHO, ids["literalInput"], ids["literalOutput"],
                                                         "<wps:Data>s</wps:Data>", response="raw"))
    assert r.text == "s"


@check("wps20.A.5.12/A.7 asynchronous execute, GetStatus, GetResult")
def wps_async(ctx):
    ids = echo_ids(ctx)
    r = requests.post(ctx.url + "/wps", data=execute_xml(ECHO, ids["literalInput"], ids["literalOutput"],
                                                         "<wps:Data>a</wps:Data>", mode="async"))
    st = ET.fromstring(r.content)
    assert st.tag == q("StatusInfo")
    job = st.find(q("JobID")).text
    for _ in range(200):
        s = ET.fromstring(wps_get(ctx, Service="WPS", Version="2.0.0", Request="GetStatus", JobID=job).content)
        if s.find(q("Status")).text in ("Succeeded", "Failed"):
            break
        time.sleep(0.05)
    assert s.find(q("Status")).text == "Succeeded"
    res = ET.fromstring(wps_get(ctx, Service="WPS", Version="2.0.0", Request="GetResult", JobID=job).content)
    assert res.tag == q("Result") and res.find(q("JobID")).text == job
    assert res.find(f"{q('Output')}/{q('Data')}").text == "a"


@check("wps20.dismiss and NoSuchJob")
def wps_dismiss(ctx):
    r = requests.post(ctx.url + "/wps", data=execute_xml("sleep", "seconds", "slept", "<wps:Data>30</wps:Data>",
                                                         mode="async"))
    job = ET.fromstring(r.content).find(q("JobID")).text
    s = ET.fromstring(wps_get(ctx, Service="WPS", Version="2.0.0", Request="Dismiss", JobID=job).content)
    assert s.find(q("Status")).text == "Dismissed"
    r = wps_get(ctx, Service="WPS", Version="2.0.0", Request="GetStatus", JobID=job)
    assert r.status_code == 404 and 'exceptionCode="NoSuchJob"' in r.text


@check("wps20.exceptions (NoSuchProcess, MissingParameterValue, OperationNotSupported)")
def wps_exceptions(ctx):
    r = wps_get(ctx, Service="WPS", Version="2.0.0", Request="DescribeProcess", Identifier="nope")
    assert 'exceptionCode="NoSuchProcess"' in r.text and "http://www.opengis.net/ows/2.0" in r.text
    assert 'exceptionCode="MissingParameterValue"' in wps_get(ctx, Service="WPS", Version="2.0.0",
                                                              Request="DescribeProcess").text
    assert 'exceptionCode="OperationNotSupported"' in wps_get(ctx, Service="WPS", Version="2.0.0",
                                                              Request="Fly").text


# ---------------------------------------------------------------- running

class Ctx:
    def __init__(self, url):
        self.url = url.rstrip("/")
        self.host = self.url.split("//", 1)[1].split(":")[0]


def main():
    a = harness.parser(__doc__, "root of a running server (OGC API landing page)").parse_args()
    proc, url = harness.serve_demo(a.nadir, "\njobs:\n  directory: {work}/jobs\n") if a.nadir else (None, a.url)
    return harness.run_checks(Ctx(url), proc)


if __name__ == "__main__":
    sys.exit(main())
