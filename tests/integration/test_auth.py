"""Who may do what, end to end: API keys and OpenID Connect tokens (minted here with PyJWT against a JWKS
written here), a dataset only analysts may read that no listing of any protocol names to anyone else,
401 versus 403, jobs that belong to their submitter, quotas, rate limits and concurrency caps."""
import base64
import hashlib
import json
import subprocess
import threading
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from owslib.wms import WebMapService

from conftest import NADIR, Server, server_config

ISS = "https://idp.test/realms/eo"
SECRET = "dem_demo"  # analysts only
KEYS = {"ana": "ana-key-0123456789abcdef", "bob": "bob-key-0123456789abcdef", "eve": "eve-key-0123456789abcdef",
        "root": "root-key-0123456789abcdef"}
ROLES = {"ana": "[analyst]", "bob": "[analyst]", "eve": "[]", "root": "[admin]"}


def b64(n, size=None):
    """base64url of a big-endian integer; EC coordinates keep their leading zero bytes (size 32)."""
    raw = n.to_bytes(size or (n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sha(s):
    return hashlib.sha256(s.encode()).hexdigest()


def key_of(user):
    return {"X-API-Key": KEYS[user]}


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    """The identity provider: an RSA and an EC signing key, published as a JWKS file."""
    d = tmp_path_factory.mktemp("idp")
    k_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    k_ec = ec.generate_private_key(ec.SECP256R1())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pn, en = k_rsa.public_key().public_numbers(), k_ec.public_key().public_numbers()
    jwks = {"keys": [{"kty": "RSA", "kid": "r1", "use": "sig", "alg": "RS256", "n": b64(pn.n), "e": b64(pn.e)},
                     {"kty": "EC", "kid": "e1", "crv": "P-256", "x": b64(en.x, 32), "y": b64(en.y, 32)}]}
    path = d / "jwks.json"
    path.write_text(json.dumps(jwks))
    pem = lambda k: k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return {"jwks": str(path), "rsa": pem(k_rsa), "ec": pem(k_ec), "other": pem(other),
            "rsa_pub": k_rsa.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)}


def token(idp, user="carol", roles=("analyst",), aud="nadir", iss=ISS, exp_in=300, key="rsa", kid="r1",
          alg="RS256"):
    claims = {"iss": iss, "aud": aud, "sub": f"id-{user}", "preferred_username": user,
              "exp": int(time.time()) + exp_in, "iat": int(time.time()), "realm_access": {"roles": list(roles)}}
    return jwt.encode(claims, idp[key], algorithm=alg, headers={"kid": kid})


def bearer(t):
    return {"Authorization": f"Bearer {t}"}


def auth_section(idp, extra=""):
    keys = "\n".join(f"    - {{id: k-{u}, sha256: {sha(k)}, user: {u}, roles: {ROLES[u]}}}" for u, k in KEYS.items())
    return f"""auth:
  issuer: {ISS}
  audience: nadir
  jwks: {idp['jwks']}
  keys:
{keys}
  rules:
    - {{datasets: [{SECRET}], read: [analyst]}}
    - {{processes: [sleep], execute: [authenticated]}}
{extra}"""


@pytest.fixture(scope="module")
def srv(demo_dir, idp, tmp_path_factory):
    work = tmp_path_factory.mktemp("auth")
    conf = (server_config(demo_dir, data_dir=str(work / "var")) +
            "jobs:\n  workers: 4\n  timeout_s: 60\n" + auth_section(idp) + "limits:\n  jobs_per_user: 2\n")
    s = Server(str(work), conf)
    yield s
    rc = s.stop()
    assert rc == 0, f"nadir exited with {rc}\n{s.read_log()[-4000:]}"


# ---------------------------------------------------------------- listings name no forbidden dataset

LISTINGS = [
    "/wms?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.3.0",
    "/wms?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.1.1",
    "/wmts?SERVICE=WMTS&REQUEST=GetCapabilities",
    "/wcs?SERVICE=WCS&REQUEST=GetCapabilities&VERSION=2.0.1",
    "/wcs?SERVICE=WCS&REQUEST=GetCapabilities&VERSION=1.0.0",
    "/opendap/", "/opendap/?f=json",
    "/collections", "/collections?f=html", "/?f=json", "/?f=html", "/openapi",
    "/stac", "/stac/collections", "/stac/search?limit=1000", "/stac/search?limit=1000&q=dem",
]


@pytest.mark.parametrize("path", LISTINGS)
def test_listings_hide_what_the_caller_may_not_read(srv, path):
    for who in (None, "eve"):
        r = requests.get(srv.url + path, headers=key_of(who) if who else {}, timeout=30)
        assert r.status_code == 200, (who, r.text[:300])
        assert SECRET not in r.text, f"{path} names {SECRET} to {who or 'anonymous'}"
        assert "sst" in r.text or path in ("/openapi",) or "search" in path, path
    # an analyst sees it where the listing names datasets
    r = requests.get(srv.url + path, headers=key_of("ana"), timeout=30)
    assert r.status_code == 200
    if path not in ("/openapi",) and "search" not in path:
        assert SECRET in r.text, path


def test_stac_search_returns_only_readable_items(srv):
    anon = requests.get(f"{srv.url}/stac/search?limit=1000", timeout=30).json()
    ana = requests.get(f"{srv.url}/stac/search?limit=1000", headers=key_of("ana"), timeout=30).json()
    assert {f["collection"] for f in anon["features"]} and SECRET not in {f["collection"] for f in anon["features"]}
    assert SECRET in {f["collection"] for f in ana["features"]}
    post = requests.post(f"{srv.url}/stac/search", json={"limit": 1000}, timeout=30).json()
    assert SECRET not in {f["collection"] for f in post["features"]}
    # naming the collection is refused, not silently emptied
    r = requests.post(f"{srv.url}/stac/search", json={"collections": [SECRET]}, headers=key_of("eve"), timeout=30)
    assert r.status_code == 403


def test_owslib_sees_only_readable_layers(srv):
    anon = WebMapService(f"{srv.url}/wms", version="1.3.0", timeout=30)
    assert any(n.startswith("sst/") for n in anon.contents)
    assert not any(n.startswith(SECRET) for n in anon.contents)
    ana = WebMapService(f"{srv.url}/wms", version="1.3.0", timeout=30, headers=key_of("ana"))
    assert any(n.startswith(SECRET + "/") for n in ana.contents)


# ---------------------------------------------------------------- direct access: 401 versus 403

def secret_urls():
    return [
        f"/collections/{SECRET}",
        f"/opendap/{SECRET}.dds",
        f"/opendap/{SECRET}.dmr",
        f"/stac/collections/{SECRET}",
        f"/stac/collections/{SECRET}/items",
        f"/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS={SECRET}/elevation&STYLES=&CRS=CRS:84"
        "&BBOX=-180,-90,180,90&WIDTH=64&HEIGHT=32&FORMAT=image/png",
        f"/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetLegendGraphic&LAYER={SECRET}/elevation&FORMAT=image/png",
        f"/tiles/{SECRET}:elevation/0/0/0.png",
    ]


@pytest.mark.parametrize("path", secret_urls())
def test_forbidden_dataset_401_anonymous_403_signed_in_200_allowed(srv, path):
    r = requests.get(srv.url + path, timeout=30)
    assert r.status_code == 401, r.text[:300]
    assert r.headers["WWW-Authenticate"].startswith("Bearer realm=")
    r = requests.get(srv.url + path, headers=key_of("eve"), timeout=30)
    assert r.status_code == 403, r.text[:300]
    assert "WWW-Authenticate" not in r.headers
    r = requests.get(srv.url + path, headers=key_of("ana"), timeout=60)
    assert r.status_code == 200, r.text[:300]


def test_wcs_forbidden_coverage_does_not_exist(srv):
    q = f"/wcs?SERVICE=WCS&VERSION=2.0.1&REQUEST=DescribeCoverage&COVERAGEID={SECRET}"
    r = requests.get(srv.url + q, timeout=30)
    assert r.status_code == 404 and "NoSuchCoverage" in r.text
    assert requests.get(srv.url + q, headers=key_of("ana"), timeout=30).status_code == 200


def test_errors_in_the_protocols_own_form(srv):
    r = requests.get(srv.url + secret_urls()[5], headers=key_of("eve"), timeout=30)
    assert "ExceptionReport" in r.text or "ServiceException" in r.text
    r = requests.get(f"{srv.url}/opendap/{SECRET}.dds", headers=key_of("eve"), timeout=30)
    assert r.text.startswith("Error {")
    r = requests.get(f"{srv.url}/collections/{SECRET}", timeout=30)
    assert r.headers["Content-Type"] == "application/problem+json" and r.json()["status"] == 401


def test_no_shared_cache_keeps_a_signed_in_answer(srv):
    r = requests.get(f"{srv.url}/collections", headers=key_of("ana"), timeout=30)
    assert r.headers["Cache-Control"] == "no-store"
    r = requests.get(f"{srv.url}/collections", timeout=30)
    assert "Authorization" in r.headers["Vary"]


# ---------------------------------------------------------------- credentials

def test_oidc_tokens(srv, idp):
    path = f"{srv.url}/collections/{SECRET}"
    assert requests.get(path, headers=bearer(token(idp)), timeout=30).status_code == 200
    assert requests.get(path, headers=bearer(token(idp, key="ec", kid="e1", alg="ES256")), timeout=30).status_code == 200
    # Keycloak groups are roles too
    claims = {"iss": ISS, "aud": ["account", "nadir"], "preferred_username": "gina", "exp": int(time.time()) + 60,
              "groups": ["/analyst"]}
    t = jwt.encode(claims, idp["rsa"], algorithm="RS256", headers={"kid": "r1"})
    assert requests.get(path, headers=bearer(t), timeout=30).status_code == 200
    # signed in without the role: 403
    assert requests.get(path, headers=bearer(token(idp, roles=("viewer",))), timeout=30).status_code == 403


@pytest.mark.parametrize("bad", ["expired", "audience", "issuer", "signature", "hs256", "garbage"])
def test_bad_tokens_refused(srv, idp, bad):
    t = {"expired": lambda: token(idp, exp_in=-3600),
         "audience": lambda: token(idp, aud="someone-else"),
         "issuer": lambda: token(idp, iss="https://evil.test/realms/eo"),
         "signature": lambda: token(idp, key="other"),
         # the public key as an HMAC secret: the algorithm-confusion attack
         "hs256": lambda: _hs256(idp),  # the public key as an HMAC secret: algorithm confusion
         "garbage": lambda: "aaa.bbb.ccc"}[bad]()
    # even an open dataset: bad credentials are never taken as anonymous
    r = requests.get(f"{srv.url}/collections/sst", headers=bearer(t), timeout=30)
    assert r.status_code == 401, r.text
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def _hs256(idp):
    """HS256 keyed with the RSA public key (PyJWT refuses to do it, so the JWS is put together by hand)."""
    import hmac
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")
    head = enc(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "r1"}).encode())
    body = enc(json.dumps({"iss": ISS, "aud": "nadir", "preferred_username": "mallory",
                           "exp": int(time.time()) + 60, "realm_access": {"roles": ["admin"]}}).encode())
    sig = enc(hmac.new(idp["rsa_pub"], head + b"." + body, hashlib.sha256).digest())
    return (head + b"." + body + b"." + sig).decode()


def test_api_keys(srv):
    path = f"{srv.url}/collections/{SECRET}"
    assert requests.get(path, headers={"Authorization": "Bearer " + KEYS["ana"]}, timeout=30).status_code == 200
    r = requests.get(path, headers={"X-API-Key": "not-a-key-0123456789"}, timeout=30)
    assert r.status_code == 401
    r = requests.get(f"{srv.url}/collections", headers={"Authorization": "Basic YTpi"}, timeout=30)
    assert r.status_code == 401


# ---------------------------------------------------------------- processes and jobs

def submit(srv, who, process="echo", inputs=None, headers=None):
    h = {"Prefer": "respond-async", **(key_of(who) if who else {}), **(headers or {})}
    return requests.post(f"{srv.url}/processes/{process}/execution", json={"inputs": inputs or {"message": "hi"}},
                         headers=h, timeout=30)


def test_jobs_belong_to_their_submitter(srv):
    r = submit(srv, "ana")
    assert r.status_code == 201, r.text
    job = r.json()["jobID"]
    url = f"{srv.url}/jobs/{job}"
    assert requests.get(url, headers=key_of("ana"), timeout=30).status_code == 200
    for other in ("bob", None):
        h = key_of(other) if other else {}
        assert requests.get(url, headers=h, timeout=30).status_code == 404
        assert requests.get(url + "/results", headers=h, timeout=30).status_code == 404
        listed = requests.get(f"{srv.url}/jobs?limit=1000", headers=h, timeout=30).json()["jobs"]
        assert job not in {j["jobID"] for j in listed}
        assert requests.delete(url, headers=h, timeout=30).status_code == 404
    # WPS 2.0 GetStatus of someone else's job: NoSuchJob
    r = requests.get(f"{srv.url}/wps?SERVICE=WPS&VERSION=2.0.0&REQUEST=GetStatus&JobID={job}", headers=key_of("bob"),
                     timeout=30)
    assert r.status_code == 404 and "NoSuchJob" in r.text
    # the admin sees every job
    listed = requests.get(f"{srv.url}/jobs?limit=1000", headers=key_of("root"), timeout=30).json()["jobs"]
    assert job in {j["jobID"] for j in listed}
    assert requests.get(url, headers=key_of("root"), timeout=30).status_code == 200
    ana = requests.get(f"{srv.url}/jobs?limit=1000", headers=key_of("ana"), timeout=30).json()["jobs"]
    assert job in {j["jobID"] for j in ana}
    assert requests.delete(url, headers=key_of("ana"), timeout=30).status_code == 200


def test_execute_rules_and_listing(srv):
    assert submit(srv, None, "sleep", {"seconds": 0.1}).status_code == 401
    anon = {p["id"] for p in requests.get(f"{srv.url}/processes", timeout=30).json()["processes"]}
    assert "echo" in anon and "sleep" not in anon
    assert requests.get(f"{srv.url}/processes/sleep", timeout=30).status_code == 401
    caps = requests.get(f"{srv.url}/wps?SERVICE=WPS&REQUEST=GetCapabilities", timeout=30).text
    assert "echo" in caps and ">sleep<" not in caps
    signed = {p["id"] for p in requests.get(f"{srv.url}/processes", headers=key_of("eve"), timeout=30).json()["processes"]}
    assert "sleep" in signed


def test_processes_cannot_read_a_forbidden_dataset_for_the_caller(srv):
    inputs = {"dataset": SECRET, "variable": "elevation"}
    r = requests.post(f"{srv.url}/processes/statistics/execution", json={"inputs": inputs}, headers=key_of("eve"),
                      timeout=60)
    assert r.status_code == 403, r.text
    r = requests.post(f"{srv.url}/processes/statistics/execution", json={"inputs": inputs}, headers=key_of("ana"),
                      timeout=60)
    assert r.status_code == 200, r.text


def test_job_quota_per_user(srv):
    ids = [submit(srv, "bob", "sleep", {"seconds": 20}) for _ in range(2)]
    assert all(r.status_code == 201 for r in ids), [r.text for r in ids]
    r = submit(srv, "bob", "sleep", {"seconds": 20})
    assert r.status_code == 429, r.text
    assert submit(srv, "ana", "sleep", {"seconds": 0.1}).status_code == 201  # another user's quota
    for x in ids:
        requests.delete(f"{srv.url}/jobs/{x.json()['jobID']}", headers=key_of("bob"), timeout=30)
    assert submit(srv, "bob", "sleep", {"seconds": 0.1}).status_code == 201


# ---------------------------------------------------------------- required auth, rate limits, caps

def test_required_auth_and_rate_limits(demo_dir, idp, tmp_path):
    conf = (server_config(demo_dir, data_dir=str(tmp_path / "var")) + auth_section(idp, "  required: true\n") +
            "limits:\n  requests_per_minute: 60\n  burst: 3\n  services: [{service: debug, concurrent: 1}]\n")
    s = Server(str(tmp_path), conf)
    try:
        assert requests.get(f"{s.url}/health", timeout=10).status_code == 200  # probes need no credentials
        r = requests.get(f"{s.url}/collections", timeout=10)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Bearer realm="nadir"'
        r = requests.get(f"{s.url}/wms?SERVICE=WMS&REQUEST=GetCapabilities", timeout=10)
        assert r.status_code == 401 and "ServiceException" in r.text or "ExceptionReport" in r.text
        # eve's bucket: 3 requests, then 429 with Retry-After; ana's bucket is her own
        codes = [requests.get(f"{s.url}/conformance", headers=key_of("eve"), timeout=10) for _ in range(4)]
        assert [c.status_code for c in codes[:3]] == [200, 200, 200]
        assert codes[3].status_code == 429 and int(codes[3].headers["Retry-After"]) >= 1
        assert requests.get(f"{s.url}/conformance", headers=key_of("ana"), timeout=10).status_code == 200
        time.sleep(1.1)
        assert requests.get(f"{s.url}/conformance", headers=key_of("eve"), timeout=10).status_code == 200
        # one request at a time on the debug service: the second gets 503 with Retry-After
        slow = threading.Thread(target=requests.get, args=(f"{s.url}/debug/sleep?ms=1500",),
                                kwargs={"headers": key_of("root"), "timeout": 10})
        slow.start()
        time.sleep(0.4)
        r = requests.get(f"{s.url}/debug/sleep?ms=1", headers=key_of("ana"), timeout=10)
        slow.join()
        assert r.status_code == 503 and r.headers["Retry-After"] == "1"
        time.sleep(1.1)
        assert requests.get(f"{s.url}/debug/sleep?ms=1", headers=key_of("ana"), timeout=10).status_code == 200
    finally:
        assert s.stop() == 0, s.read_log()[-3000:]


def test_unusable_auth_section_stops_the_server(demo_dir, tmp_path):
    bad = tmp_path / "jwks.json"
    bad.write_text('{"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}')
    conf = server_config(demo_dir) + f"auth:\n  issuer: {ISS}\n  audience: nadir\n  jwks: {bad}\n"
    with pytest.raises(RuntimeError, match="jwks"):
        Server(str(tmp_path), conf)
    r = subprocess.run([NADIR, "check-config", str(tmp_path / "nadir.yaml")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1 and "jwks" in r.stderr, r.stderr


def test_job_outputs_are_their_owners_datasets(srv):
    r = submit(srv, "ana", "subset", {"dataset": SECRET, "bbox": [10.1, 46.3, 10.2, 46.4]})
    assert r.status_code == 201, r.text
    job = r.json()["jobID"]
    deadline = time.time() + 60
    while requests.get(f"{srv.url}/jobs/{job}", headers=key_of("ana"), timeout=30).json()["status"] != "successful":
        assert time.time() < deadline
        time.sleep(0.2)
    ds_id = f"{job}-result"
    for path in ("/collections", "/wms?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.3.0", "/opendap/?f=json"):
        assert ds_id in requests.get(srv.url + path, headers=key_of("ana"), timeout=30).text, path
        assert ds_id in requests.get(srv.url + path, headers=key_of("root"), timeout=30).text, path
        # bob is an analyst too: the rules let him read the source, but the output is ana's
        assert ds_id not in requests.get(srv.url + path, headers=key_of("bob"), timeout=30).text, path
        assert ds_id not in requests.get(srv.url + path, timeout=30).text, path
    assert requests.get(f"{srv.url}/collections/{ds_id}", headers=key_of("bob"), timeout=30).status_code == 403
    assert requests.get(f"{srv.url}/opendap/{ds_id}.dds", timeout=30).status_code == 401
    assert requests.get(f"{srv.url}/collections/{ds_id}", headers=key_of("ana"), timeout=30).status_code == 200
