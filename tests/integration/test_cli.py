"""The command line: help for each command, check-config errors naming file and line, no half start."""
import os
import subprocess

from conftest import NADIR, server_config


def run(*args, timeout=60):
    return subprocess.run([NADIR, *args], capture_output=True, text=True, timeout=timeout)


def test_help_for_every_command():
    top = run("--help")
    assert top.returncode == 0
    for cmd in ("serve", "check-config", "demo-data", "version"):
        assert cmd in top.stdout
        r = run(cmd, "--help")
        assert r.returncode == 0 and r.stdout.startswith(f"usage: nadir {cmd}")


def test_version():
    r = run("version")
    assert r.returncode == 0 and r.stdout.startswith("nadir ")


def test_unknown_command():
    r = run("fly")
    assert r.returncode == 2 and "unknown command 'fly'" in r.stderr


def test_check_config_ok(demo_dir, tmp_path):
    p = tmp_path / "ok.yaml"
    p.write_text(server_config(demo_dir))
    r = run("check-config", str(p))
    assert r.returncode == 0, r.stderr
    assert "3 datasets" in r.stdout


def test_check_config_unknown_key_names_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("server:\n  port: 8080\n  prot: 1\n")
    r = run("check-config", str(p))
    assert r.returncode == 1
    assert f"{p}:3:3:" in r.stderr and "prot" in r.stderr


def test_check_config_malformed_yaml(tmp_path):
    p = tmp_path / "broken.yaml"
    p.write_text("server:\n  port: [8080\n")
    r = run("check-config", str(p))
    assert r.returncode == 1 and str(p) in r.stderr


def test_missing_config_file(tmp_path):
    r = run("check-config", str(tmp_path / "none.yaml"))
    assert r.returncode == 1 and "none.yaml" in r.stderr


def bad_dataset(tmp_path, source):
    p = tmp_path / "ds.yaml"
    p.write_text(f"datasets:\n  - id: broken\n    source: {source}\n")
    return p


def test_corrupt_netcdf_refused(tmp_path):
    f = tmp_path / "corrupt.nc"
    f.write_bytes(b"CDF\x01" + os.urandom(200))
    r = run("check-config", str(bad_dataset(tmp_path, f)))
    assert r.returncode == 1 and "corrupt.nc" in r.stderr


def test_missing_data_file_refused(tmp_path):
    r = run("check-config", str(bad_dataset(tmp_path, tmp_path / "absent.tif")))
    assert r.returncode == 1 and "absent.tif" in r.stderr


def test_serve_never_starts_half_configured(demo_dir, tmp_path):
    p = tmp_path / "half.yaml"
    p.write_text(server_config(demo_dir) + f"  - id: broken\n    source: {tmp_path}/absent.nc\n")
    r = run("serve", "-c", str(p), "--port", "1", timeout=60)
    assert r.returncode == 1 and "absent.nc" in r.stderr
    assert "listening" not in r.stderr


def test_demo_configuration_serves_every_demo_dataset(demo_dir):
    r = run("check-config", os.path.join(demo_dir, "nadir.yaml"))
    assert r.returncode == 0, r.stderr
    listed = [line.split()[0] for line in r.stdout.splitlines()[1:]]
    for ds in ("sst", "s2_demo", "dem_demo", "no2_demo", "sm_sigma0_vv", "sm_incidence", "sm_ndvi", "lu_vhr",
               "lu_ndvi_series"):
        assert ds in listed
